"""trajectory domain."""
