"""Text helpers every renderer shares, so one answer reads the same on every surface.

Slack, Teams, the terminal and the playground each know their own format; what they do
to text alike lives here once: a line of text, a clipped text with its ellipsis, items in
chunks of a size, a trend's arrow, which table columns hold numbers. How a rendered reply
is cut to a platform's limits is in `adapters.platforms.limits`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final, TypeVar

from bot.reply import Trend

T = TypeVar("T")

ELLIPSIS: Final = "…"

TREND_ARROW: Final[Mapping[Trend, str]] = {Trend.UP: "↗", Trend.DOWN: "↘", Trend.FLAT: "→"}
"""Which way a number moved. Only trends get arrows: a tone (good, bad) is shown with marks
that cannot be read as a direction, or `▼` beside a −15 would say the same thing twice."""


def trend_arrow(trend: Trend | None) -> str:
    """The arrow of a trend, or nothing when the number has none."""
    return TREND_ARROW[trend] if trend else ""


def one_line(text: str) -> str:
    """Collapse line breaks and runs of white space: headings, labels and cells are one line."""
    return " ".join(text.split())


def clip(text: str, limit: int, *, safe_cut: Callable[[str, int], int] | None = None) -> str:
    """`text` if it fits in `limit` characters, else its start and an ellipsis.

    `safe_cut(text, cut)` may move the cut back, for text in which some sequences must
    not be cut in half (Slack's escaped `&amp;`).
    """
    if len(text) <= limit:
        return text
    cut = max(limit - len(ELLIPSIS), 0)
    if safe_cut is not None:
        cut = safe_cut(text, cut)
    return text[:cut].rstrip() + ELLIPSIS


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive runs of at most `size` (fields per section, buttons per row)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


BLANK_CELLS: Final = frozenset({"", "—", "–", "-", "n/a"})
"""Table cells that say there is no value: they count neither for nor against a column
being numeric."""
_NUMBER: Final = re.compile(
    r"(?:[<>≤≥≈~]\s?)?[+\-−±]?\s?[$€£¥]?\s?\d[\d,.\u00a0\u202f ]*(?:\s?/\s?\d+)?\s?"
    r"(?:[%‰×]|points?|[A-Za-z]{1,3})?"
)
"""A number as a table shows it: a bound, a sign, a currency, digits with separators, a
fraction, a short unit ("$420k", "> 99 %", "−3 pts", "135 d", "3/5", "950 CHF"). Dates
("2027-02-19") and words ("55 yellow") are not."""


def numeric_column(cells: Iterable[str]) -> bool:
    """Whether a column's cells are numbers (blanks aside): renderers align those right,
    where numbers line up by their last digit."""
    values = [one_line(cell) for cell in cells]
    shown = [value for value in values if value.lower() not in BLANK_CELLS]
    return bool(shown) and all(_NUMBER.fullmatch(value) for value in shown)


def middle_clip(text: str, limit: int) -> str:
    """`text` with its middle left out: keeps an ending that tells two labels apart."""
    if len(text) <= limit:
        return text
    tail = (limit - len(ELLIPSIS)) // 2
    head = limit - len(ELLIPSIS) - tail
    return text[:head].rstrip() + ELLIPSIS + text[len(text) - tail :].lstrip()


def distinct_labels(labels: Sequence[str], limit: int, blank: str) -> list[str]:
    """Labels within `limit` characters, no two alike: cut at the end, else in the middle,
    else numbered. Charts key points by their label and series by their name (Slack and
    Teams alike), so two alike would draw as one."""
    used: set[str] = set()
    out: list[str] = []
    for label in labels:
        text = one_line(label) or blank
        choice = next(
            (c for c in (clip(text, limit), middle_clip(text, limit)) if c not in used), None
        )
        n = 2
        while choice is None:
            suffix = f" {n}"
            candidate = clip(text, limit - len(suffix)) + suffix
            choice = candidate if candidate not in used else None
            n += 1
        used.add(choice)
        out.append(choice)
    return out
