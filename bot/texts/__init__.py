"""The catalogue of every sentence a user sees, by key, in Vietnamese and English.

Each language is a folder of TOML files, one per part of the bot (core, households,
...); their tables are merged, and a key defined twice is an error.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANG = "vi"
_HERE = Path(__file__).parent


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All texts of one language, flattened to dotted keys."""
    merged: dict[str, str] = {}
    for path in sorted((_HERE / lang).glob("*.toml")):
        with path.open("rb") as handle:
            for key, value in _flatten(tomllib.load(handle)).items():
                if key in merged:
                    raise ValueError(f"{path.name}: text {key!r} is defined twice")
                merged[key] = value
    return merged


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = str(value)
    return flat


def has(key: str) -> bool:
    """Whether the catalogue defines `key` (every language has the same keys)."""
    return key in catalogue(DEFAULT_LANG)


def t(key: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
    """The text for `key` in `lang` (Vietnamese when missing), with {params} filled in."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANG
    template = catalogue(lang).get(key)
    if template is None:
        template = catalogue(DEFAULT_LANG)[key]
    return template.format(**params) if params else template
