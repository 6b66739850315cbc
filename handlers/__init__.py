"""What the bot does, once for every channel. ROUTERS lists the modules in order."""

from handlers import (
    basics,
    broadcasts,
    exports,
    households,
    nominations,
    onboarding,
    privacy,
    progress,
    reminders,
    review,
    roles,
    surveys,
    web_signin,
)

ROUTERS = [
    basics.router,
    onboarding.router,
    households.router,
    nominations.router,
    surveys.router,
    privacy.router,
    roles.router,
    broadcasts.router,
    reminders.router,
    review.router,
    progress.router,
    exports.router,
    web_signin.router,
]

__all__ = ["ROUTERS"]
