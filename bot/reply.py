"""The platform-neutral reply: what a command answers, before any chat format exists.

Handlers build a `Reply` and nothing else; renderers (Block Kit, Adaptive Cards, the
playground's HTML, plain text) are the only code that knows a format. There is
deliberately no field for raw platform JSON: anything a renderer needs must be
expressible here, so every surface shows the same answer.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class Tone(enum.StrEnum):
    """How a value should feel at a glance; renderers map it to colours or emoji."""

    GOOD = "good"
    WARNING = "warning"
    BAD = "bad"
    NEUTRAL = "neutral"


class Trend(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


class Outcome(enum.StrEnum):
    """Whether a reply answers the question, or says why it cannot.

    Renderers mark the other two as such (a warning sign, an attention colour), nobody is
    offered to share or refresh a question that cannot be answered, and `closeloop ask`
    exits non-zero for them, so scripts notice too.
    """

    ANSWER = "answer"
    PROBLEM = "problem"
    """The question cannot be answered as asked: a word not understood, nothing matching,
    not allowed. Asking differently helps; asking again does not."""
    FAILURE = "failure"
    """It failed on our side; asking again may help, and the admin has the details."""


class Visibility(enum.StrEnum):
    """Who sees the answer: only the asker (the default for account data) or the channel."""

    PRIVATE = "private"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Metric:
    """A headline number with what it means: its change, direction and tone."""

    label: str
    value: str
    delta: str | None = None
    trend: Trend | None = None
    tone: Tone = Tone.NEUTRAL
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table row {row!r} does not have {len(self.columns)} cells")


class ChartKind(enum.StrEnum):
    """The kinds of chart Slack (`data_visualization`) and Teams (`Chart.*`) both draw."""

    LINE = "line"
    BAR = "bar"
    AREA = "area"
    PIE = "pie"


@dataclass(frozen=True, slots=True)
class Series:
    """One named line, set of bars or pie: a value for each of the chart's categories."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A level the reader should compare against (a health band's edge), drawn as a flat line."""

    label: str
    value: float


@dataclass(frozen=True, slots=True)
class Chart:
    """Series over categories (oldest first for time), with the words that say what it shows.

    `summary` is the accessible text that travels with every drawing: Slack's notification
    and screen readers see only the message text, Teams clients without charts (iOS) see
    the fallback, and the terminal prints it. It carries the numbers a reader needs, so a
    chart is never the only place an answer is.

    A pie has one series whose values (all above zero) are the slices named by the
    categories. Renderers fit charts to their platform's limits (Slack draws at most 20
    categories); they never change what the values mean.
    """

    title: str
    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    summary: str
    unit: str = ""
    x_label: str | None = None
    y_label: str | None = None
    thresholds: tuple[Threshold, ...] = ()

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError(f"chart {self.title!r} has no series")
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(
                    f"series {series.name!r} of chart {self.title!r} has {len(series.values)} "
                    f"values for {len(self.categories)} categories"
                )
            if not all(math.isfinite(value) for value in series.values):
                raise ValueError(f"series {series.name!r} of chart {self.title!r} is not finite")
        if self.kind is ChartKind.PIE:
            if len(self.series) != 1 or self.thresholds:
                raise ValueError(f"pie chart {self.title!r} takes one series and no thresholds")
            if any(value <= 0 for value in self.series[0].values):
                raise ValueError(f"pie chart {self.title!r} has a slice of zero or less")
        if not self.summary.strip():
            raise ValueError(f"chart {self.title!r} has no text summary")


def _frozen(payload: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(payload))


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a form: a pick from `choices`, or free text when there are none."""

    name: str
    label: str
    choices: tuple[Choice, ...] = ()
    multiline: bool = False
    optional: bool = False
    initial: str | None = None


@dataclass(frozen=True, slots=True)
class Form:
    """What a button asks before it acts (closing a follow-up asks outcome and note).

    Slack shows it as a modal when the button is clicked, Teams as inputs on the card; the
    answers come back merged into the action's payload under each field's `name`.
    """

    title: str
    submit: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Action:
    """A button: an action id the router knows, a small payload it needs, maybe a form."""

    action_id: str
    label: str
    payload: Mapping[str, str] = field(default_factory=dict)
    primary: bool = False
    form: Form | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _frozen(self.payload))


@dataclass(frozen=True, slots=True)
class Reply:
    heading: str
    paragraphs: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    charts: tuple[Chart, ...] = ()
    visibility: Visibility = Visibility.PRIVATE
    outcome: Outcome = Outcome.ANSWER
