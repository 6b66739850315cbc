"""Handlers for broadcasts (being written)."""

from bot.registry import Router

router = Router()
