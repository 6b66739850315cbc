"""Payload generators for the webhook fuzz tests: junk, truncated and mutated real bodies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

PAYLOADS = Path(__file__).parent.parent / "payloads"

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                               max_size=5),
    max_leaves=25,
)
huge_text = st.builds(lambda ch, n: ch * n, st.characters(), st.integers(10_000, 300_000))
odd_text = st.text(min_size=1, max_size=200) | huge_text | st.sampled_from(
    ["\u0000", "\ud7ff\ufeff\u202e", "🇻🇳" * 3000, "Đăng ký\n" * 500, "/batdau" + " x" * 4000,
     "/" * 64, "Ａ" * 5000])


def real_payloads(channel: str) -> list[dict[str, Any]]:
    """The recorded payloads of one channel (tests/payloads/<channel>/*.json)."""
    return [json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((PAYLOADS / channel).glob("*.json"))]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON value."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of `value` with the item at `path` replaced by `new`."""
    result = copy.deepcopy(value)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return result


@st.composite
def mutated(draw: st.DrawFn, channel: str, values: st.SearchStrategy[Any]) -> Any:
    """A real payload with one known field (at any depth) set to a wrong value."""
    payload = draw(st.sampled_from(real_payloads(channel)))
    where = draw(st.sampled_from(paths(payload)))
    return replaced(payload, where, draw(values))


@st.composite
def truncated(draw: st.DrawFn, channel: str) -> bytes:
    """A real payload's bytes cut short (never valid JSON)."""
    body = json.dumps(draw(st.sampled_from(real_payloads(channel))),
                      ensure_ascii=False).encode()
    return body[: draw(st.integers(min_value=0, max_value=len(body) - 1))]


def wrong_values() -> st.SearchStrategy[Any]:
    """What a field may wrongly hold: another type, odd text, a huge or nested value."""
    return json_values | odd_text | st.lists(st.integers(), min_size=100, max_size=1000)


def telegram_bodies() -> st.SearchStrategy[Any]:
    """Bodies for /telegram/webhook (bytes are sent as they are, the rest as JSON)."""
    return (json_values | truncated("telegram") | mutated("telegram", wrong_values())
            | st.binary(max_size=300))


def zalo_bodies() -> st.SearchStrategy[Any]:
    """Bodies for /zalo/webhook."""
    return json_values | truncated("zalo") | mutated("zalo", wrong_values()) | st.binary(
        max_size=300)


def webchat_bodies() -> st.SearchStrategy[Any]:
    """Bodies for /webchat/api/messages, around a valid one."""
    valid = {"client_id": "c" * 40, "message_id": "m0000001", "text": "Xin chào"}
    fields = st.fixed_dictionaries({}, optional={
        "client_id": st.text(max_size=80) | json_values,
        "message_id": st.text(max_size=80) | json_values,
        "text": odd_text | json_values,
        "button": odd_text | json_values,
    })
    swapped = st.builds(lambda key, value: {**valid, key: value},
                        st.sampled_from(sorted(valid)), wrong_values())
    return json_values | fields | swapped | st.binary(max_size=300)


def zalo_oa_bodies() -> st.SearchStrategy[Any]:
    """Bodies for /zalo-oa/webhook (the test signs each one, as Zalo would)."""
    return (json_values | truncated("zalo_oa") | mutated("zalo_oa", wrong_values())
            | st.binary(max_size=300))
