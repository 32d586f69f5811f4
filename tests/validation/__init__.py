"""Validation of multifolio against peer libraries (vectorbt)."""
