"""Handlers for reminders (being written)."""

from bot.registry import Router

router = Router()
