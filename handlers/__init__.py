"""What the bot does, once for every channel. ROUTERS lists the modules in order."""

from handlers import basics, onboarding

ROUTERS = [basics.router, onboarding.router]

__all__ = ["ROUTERS"]
