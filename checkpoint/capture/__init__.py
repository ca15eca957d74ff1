"""capture domain."""
