"""Errors the plate reader raises on input it cannot use."""

from __future__ import annotations


class ImageError(ValueError):
    """The input is not a usable image (unreadable bytes, empty, too large, wrong shape)."""


class ModelError(RuntimeError):
    """A model file that must ship with an installed package is missing or unreadable."""
