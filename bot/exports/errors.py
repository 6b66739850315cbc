"""Why an export cannot be made: each carries the catalogue key that says it to a person."""

from __future__ import annotations

from typing import Any


class ExportError(Exception):
    """The export cannot be made as asked (no survey, unknown group, bad format)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class ExportRefused(ExportError):
    """The asker's role may not have this export; the refusal is audited."""
