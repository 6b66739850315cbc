"""The Zalo Official Account channel."""
