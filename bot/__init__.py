"""thidua-bot: a chatbot for a ward's emulation campaigns."""

__version__ = "0.1.0"
