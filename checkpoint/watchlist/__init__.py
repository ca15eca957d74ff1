"""watchlist domain."""
