"""Checkpoint: road-checkpoint capture, plate recognition and watchlist hits."""
