"""coverage domain."""
