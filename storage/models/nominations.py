"""Models for nominations (being written)."""
