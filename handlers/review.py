"""Handlers for review (being written)."""

from bot.registry import Router

router = Router()
