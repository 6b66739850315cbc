"""Command-line commands for worker (being written)."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from bot.ward import WardConfig

COMMANDS: tuple[str, ...] = ()


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's commands to the `thidua` parser."""


async def run(args: argparse.Namespace, settings: Settings, ward: WardConfig) -> int:
    """Run one of COMMANDS; returns the exit code."""
    return 2
