"""What the bot does, once for every channel. ROUTERS lists the modules in order."""

from handlers import basics, households, nominations, onboarding, privacy, roles, surveys

ROUTERS = [
    basics.router,
    onboarding.router,
    households.router,
    nominations.router,
    surveys.router,
    privacy.router,
    roles.router,
]

__all__ = ["ROUTERS"]
