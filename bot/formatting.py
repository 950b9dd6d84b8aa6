"""Numbers as a CS team reads them: compact money, percentages, signed changes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from metrics_core.proportions import Difference

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
    """`+3`, `-15`; a change that rounds to nothing is `+0`, never `-0`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{round(value, digits) + 0.0:+.{digits}f}{unit}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


ECHO_MAX_CHARS: Final = 60


def echoed(text: str, limit: int = ECHO_MAX_CHARS) -> str:
    """What the asker typed, as a reply quotes it back: one line of at most `limit` characters.

    A heading that repeats a pasted paragraph (or 100 KB) buries the answer; its start is
    enough to recognise what was asked.
    """
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


TOO_FEW_FOR_INTERVAL = "too few answers for an interval"


def interval(
    low: float | None,
    high: float | None,
    show: Callable[[float], str] = signed,
    *,
    sep: str = " to ",
    unit: str = "",
    label: str = "95 % CI ",
) -> str:
    """`95 % CI +3 to +26`, or `too few answers for an interval`: one wording everywhere.

    Survey results (`metrics_core.surveys`) leave their interval None when there are
    answers but too few to support one; a made-up or zero-width range there would
    claim a certainty the sample does not have. Callers say "no answers" themselves when n
    is 0. `show` formats each bound (signed points for NPS by default).
    """
    if low is None or high is None:
        return TOO_FEW_FOR_INTERVAL
    return f"{label}{show(low)}{sep}{show(high)}{unit}"


def rate_difference(change: Difference) -> str:
    """`+15 pts (95 % CI +3 to +26)`: how far apart two rates are, in percentage points,
    with the interval of the difference; one wording for every comparison of rates."""
    bounds = interval(change.ci_low * 100, change.ci_high * 100)
    return f"{signed(change.estimate * 100, 0, ' pts')} ({bounds})"


def likelihood(probability: float | None) -> str:
    """A churn probability as people should read it: `37 %`, never `100 %` or `0 %`.

    Probabilities beyond 1 % and 99 % are shown as `< 1 %` and `> 99 %`: rounding 0.996
    to "100 %" would claim a certainty no risk model has (the model only goes beyond
    those limits when its backtest supports it, see `metrics_core.churn.risk.Calibration`).
    """
    if probability is None or (isinstance(probability, float) and math.isnan(probability)):
        return "—"
    if probability > 0.99:
        return "> 99 %"
    if probability < 0.01:
        return "< 1 %"
    return f"{min(99, max(1, round(probability * 100)))} %"
