"""Handlers for households (being written)."""

from bot.registry import Router

router = Router()
