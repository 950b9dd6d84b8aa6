"""Names, subjects, notes and comments composed from the word lists in `data/`.

The wording lives in a data file so it can be edited without touching code, and is read
on first use so importing Closeloop costs nothing for commands that never seed. Every
choice goes through a `Picker`, which draws its randomness from the seed's numpy
generator, so the same seed always composes the same text.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

TOPICS = (
    "performance",
    "reporting",
    "integrations",
    "support",
    "usability",
    "pricing",
    "onboarding",
    "reliability",
)

_SLOT = re.compile(r"\{(\w+)\}")
_LEGAL_WORDS = frozenset({"inc", "co", "ltd", "llp", "holdings", "group"})


@functools.cache
def vocabulary() -> dict[str, Any]:
    """The parsed word lists; cached because every composition needs them."""
    source = resources.files("metrics_core").joinpath("data/synthetic_text.json")
    data: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return data


class Picker:
    """Uniform draws handed out from pre-drawn blocks.

    Composing text means many tiny choices; one numpy call per choice would cost more
    than the choice. Drawing a block at a time keeps the speed of Python's `random`
    while every value still comes from the seeded numpy generator.
    """

    def __init__(self, rng: np.random.Generator, block: int = 8192) -> None:
        self._rng = rng
        self._block = block
        self._values: list[float] = []
        self._next = 0

    def uniform(self) -> float:
        if self._next >= len(self._values):
            self._values = self._rng.random(self._block).tolist()
            self._next = 0
        value = self._values[self._next]
        self._next += 1
        return value

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.uniform() * len(items))]

    def chance(self, probability: float) -> bool:
        return self.uniform() < probability

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high], both ends included."""
        return low + int(self.uniform() * (high - low + 1))


def fill(template: str, picker: Picker, context: Mapping[str, str]) -> str:
    """Replace `{slot}`s from the context first, then from the shared slot lists."""
    slots: dict[str, list[str]] = vocabulary()["slots"]

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in context:
            return context[name]
        return picker.pick(slots[name])

    return _SLOT.sub(replace, template)


def ascii_slug(text: str, separator: str = "-") -> str:
    """Lower-case ASCII words joined by `separator`: what a domain or mailbox can hold."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    plain = plain.lower().replace("'", "").replace("&", " ")
    words = re.findall(r"[a-z0-9]+", plain)
    return separator.join(words)


def person_name(picker: Picker) -> str:
    words = vocabulary()
    return f"{picker.pick(words['first_names'])} {picker.pick(words['last_names'])}"


def mailbox(name: str) -> str:
    """`first.last` for a person's name, the convention most companies use."""
    return ascii_slug(name, ".")


def _company_name(picker: Picker) -> str:
    words: dict[str, list[str]] = vocabulary()["company"]
    roll = picker.uniform()
    if roll < 0.5:
        brand = picker.pick(words["prefixes"]) + picker.pick(words["roots"])
        return f"{brand} {picker.pick(words['industries'])}"
    if roll < 0.65:
        return f"{picker.pick(words['places'])} {picker.pick(words['industries'])}"
    if roll < 0.77:
        last_names: list[str] = vocabulary()["last_names"]
        first, second = picker.pick(last_names), picker.pick(last_names)
        if first == second:
            return f"{first} {picker.pick(words['firm_words'])}"
        return f"{first} & {second} {picker.pick(words['firm_words'])}"
    brand = picker.pick(words["prefixes"]) + picker.pick(words["roots"])
    return brand + picker.pick(words["tails"])


def company_slug(name: str) -> str:
    """The domain label of a company: its name without legal-form words."""
    words = [w for w in ascii_slug(name).split("-") if w not in _LEGAL_WORDS]
    return "-".join(words)


def company_names(count: int, picker: Picker, reserved: Sequence[str]) -> list[tuple[str, str]]:
    """`count` (name, slug) pairs with distinct slugs, none containing a reserved word.

    Slugs, not names, must be unique: "Cedarline" and "Cedarline Inc." would otherwise
    share a domain. Past the word lists' variety a number keeps names distinct.
    """
    taken: set[str] = set()
    names: list[tuple[str, str]] = []
    misses = 0
    while len(names) < count:
        name = _company_name(picker)
        if misses > 50:
            name = f"{name} {len(names) + 1}"
        slug = company_slug(name)
        if not slug or slug in taken or any(word in slug for word in reserved):
            misses += 1
            continue
        misses = 0
        taken.add(slug)
        names.append((name, slug))
    return names


def ticket_subject(category: str, picker: Picker, month: str) -> str:
    templates: list[str] = vocabulary()["tickets"][category]
    return fill(picker.pick(templates), picker, {"month": month})


def nps_comment(score: int, topic: str, picker: Picker, context: Mapping[str, str]) -> str:
    """A comment whose tone matches the score, usually about the account's own topic.

    Promoters praise what the account values, detractors complain about what hurts it,
    so one account's comments tell a consistent story across survey waves.
    """
    comments = vocabulary()["comments"]
    if 7 <= score <= 8:
        return fill(picker.pick(comments["passive"]), picker, context)
    band = "promoter" if score >= 9 else "detractor"
    chosen = topic if picker.chance(0.75) else picker.pick(TOPICS)
    text = fill(picker.pick(comments[band][chosen]), picker, context)
    if picker.chance(0.35):
        text += " " + fill(picker.pick(comments[f"{band}_addons"]), picker, context)
    return text


def support_comment(sentiment: str, picker: Picker, context: Mapping[str, str]) -> str:
    """A CSAT or CES comment; `sentiment` is positive, neutral or negative."""
    templates: list[str] = vocabulary()["comments"][f"support_{sentiment}"]
    return fill(picker.pick(templates), picker, context)


def activity_note(kind: str, picker: Picker, context: Mapping[str, str]) -> str:
    templates: list[str] = vocabulary()["notes"][kind]
    return fill(picker.pick(templates), picker, context)
