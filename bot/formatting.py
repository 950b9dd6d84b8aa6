"""Numbers as a CS team reads them: compact money, percentages, signed changes."""

from __future__ import annotations

import math

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(amount: float | None, currency: str = "USD") -> str:
    """`$1.2M`, `$84k`, `$950`: precise enough to compare, short enough for a table."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "—"
    symbol = _SYMBOLS.get(currency, "")
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if value >= 1_000_000:
        text = f"{value / 1_000_000:.1f}M"
    elif value >= 10_000:
        text = f"{value / 1_000:.0f}k"
    elif value >= 1_000:
        text = f"{value / 1_000:.1f}k"
    else:
        text = f"{value:.0f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def percent(share: float | None, digits: int = 1) -> str:
    """A share (0.965) as `96.5 %`."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    return f"{share * 100:.{digits}f} %"


def signed(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}{unit}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
