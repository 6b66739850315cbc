"""Handlers for progress (being written)."""

from bot.registry import Router

router = Router()
