"""Vietnamese phone numbers, checked against the real numbering plan (phonenumbers)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

_ACCEPTED_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
_ALLOWED = re.compile(r"^\+?[\d\s.\-()]{9,20}$")


def normalize_phone(text: str) -> str | None:
    """'0912 345 678', '+84 912.345.678', '84912345678' -> '+84912345678'; None if invalid."""
    candidate = text.strip()
    if not _ALLOWED.match(candidate):
        return None
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith("+"):
        digits = "+" + digits
    elif digits.startswith("84") and len(digits) >= 11:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "VN")
    except NumberParseException:
        return None
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in _ACCEPTED_TYPES:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """'+84912345678' -> '0912 345 678' as people in Vietnam write it."""
    number = phonenumbers.parse(e164, "VN")
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def mask_phone(e164: str) -> str:
    """Only the last three digits: '0912 345 678' -> '09xx xxx 678'."""
    shown = display_phone(e164)
    digits_seen = 0
    total = sum(ch.isdigit() for ch in shown)
    masked = []
    for ch in shown:
        if ch.isdigit():
            digits_seen += 1
            keep = digits_seen <= 2 or digits_seen > total - 3
            masked.append(ch if keep else "x")
        else:
            masked.append(ch)
    return "".join(masked)
