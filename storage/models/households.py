"""Models for households (being written)."""
