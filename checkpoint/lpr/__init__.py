"""lpr domain."""
