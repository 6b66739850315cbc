"""Handlers for surveys (being written)."""

from bot.registry import Router

router = Router()
