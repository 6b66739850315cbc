"""Models for surveys (being written)."""
