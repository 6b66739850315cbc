"""The Zalo Official Account channel (Open API v3): signed webhook, buttons, forms."""
