"""Handlers for nominations (being written)."""

from bot.registry import Router

router = Router()
