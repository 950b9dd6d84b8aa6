"""`closeloop.toml`: the CS team's own definitions (scorecards, thresholds, margins).

Every field has a default, so an empty or missing file gives the documented scorecard;
`closeloop.example.toml` lists them all. A bad file is refused with the file name and
the dotted path of each bad field, because a typo in a weight silently skews every
health score the team looks at.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from metrics_core.store.models import AnswerBand, Segment, SurveyKind

COMPONENTS = ("usage", "adoption", "support", "sentiment", "relationship", "commercial")

Weight = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(gt=0, le=1)]


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the file and the fields."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Strict):
    """Relative weights of the health components; they need not sum to 100."""

    usage: Weight = 30
    adoption: Weight = 15
    support: Weight = 15
    sentiment: Weight = 15
    relationship: Weight = 10
    commercial: Weight = 15

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("at least one component needs a positive weight")
        return self

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in COMPONENTS}


class Bands(_Strict):
    red_below: Annotated[float, Field(ge=0, le=100)] = 40
    green_from: Annotated[float, Field(ge=0, le=100)] = 70

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.red_below > self.green_from:
            raise ValueError("red_below must not exceed green_from")
        return self


class UsageRules(_Strict):
    window_days: Annotated[int, Field(ge=7, le=120)] = 30
    full_marks_active_share: Share = 0.6
    """Share of seats active on an average day that earns full usage marks."""


class AdoptionRules(_Strict):
    full_marks_feature_share: Share = 0.75
    """Share of the product's features used in the window that earns full adoption marks."""


class SupportRules(_Strict):
    penalty_urgent: Weight = 30
    penalty_high: Weight = 20
    penalty_normal: Weight = 5
    penalty_low: Weight = 2
    penalty_per_extra_ticket: Weight = 5
    """Per ticket opened in the window beyond the previous window's count."""


class SentimentRules(_Strict):
    window_days: Annotated[int, Field(ge=30, le=730)] = 365


class RelationshipRules(_Strict):
    full_marks_days: Annotated[int, Field(ge=0)] = 30
    zero_marks_days: Annotated[int, Field(ge=1)] = 120

    @model_validator(mode="after")
    def _ordered(self) -> RelationshipRules:
        if self.zero_marks_days <= self.full_marks_days:
            raise ValueError("zero_marks_days must be greater than full_marks_days")
        return self


class CommercialRules(_Strict):
    lookback_days: Annotated[int, Field(ge=30)] = 365
    renewal_exposure_days: Annotated[int, Field(ge=0)] = 60


class Health(_Strict):
    bands: Bands = Bands()
    weights: Weights = Weights()
    segments: dict[Segment, Weights] = {}
    """Per-segment weights that replace the default ones for that segment."""
    usage: UsageRules = UsageRules()
    adoption: AdoptionRules = AdoptionRules()
    support: SupportRules = SupportRules()
    sentiment: SentimentRules = SentimentRules()
    relationship: RelationshipRules = RelationshipRules()
    commercial: CommercialRules = CommercialRules()

    def weights_for(self, segment: Segment) -> Weights:
        return self.segments.get(segment, self.weights)


class UsageDrop(_Strict):
    threshold: Share = 0.3
    """Flag an account whose usage fell by at least this share against its baseline."""
    baseline_weeks: Annotated[int, Field(ge=1, le=12)] = 4
    recent_days: Annotated[int, Field(ge=7, le=28)] = 7
    health_penalty: Weight = 20
    """Points off the usage component while an account is flagged."""


class Churn(_Strict):
    horizon_days: Annotated[int, Field(ge=30, le=1100)] = 365
    """Churn risk is the probability of churning at the next renewal when it is due within
    this many days (with annual contracts, always); a later renewal gets no probability."""
    min_churned_accounts: Annotated[int, Field(ge=5)] = 20
    """Below this many labelled churns the transparent rule-based risk is used."""
    high_risk_from: Share = 0.5


class Revenue(_Strict):
    gross_margin: Share = 0.8
    currency: str = "USD"


class Route(_Strict):
    """One alert routing rule: which survey answers (all conditions hold) go where.

    An empty condition matches everything. Every matching rule adds its targets, in file
    order, until a matching rule says `stop`; a rule with `stop` and no targets silences
    what it matches (the filter that keeps a channel from drowning in noise). An answer no
    rule matches goes to the operator's fallback alerts target, if one is configured.
    """

    name: str = ""
    bands: list[AnswerBand] = []
    surveys: list[SurveyKind] = []
    segments: list[Segment] = []
    min_arr: Annotated[float, Field(ge=0)] | None = None
    has_comment: bool | None = None
    matched: bool | None = None
    """True: only answers matched to an account; False: only unmatched ones."""
    slack_channels: list[str] = []
    teams_conversations: list[str] = []
    owner_dm: bool = False
    """Also send to the account owner's direct messages."""
    stop: bool = False


class AccountAlerts(_Strict):
    """Alerts about accounts rather than answers: usage drops and health band changes."""

    usage_drop: bool = True
    band_change: Literal["worse", "any", "off"] = "worse"
    slack_channels: list[str] = []
    teams_conversations: list[str] = []
    owner_dm: bool = True


class Alerts(_Strict):
    routes: list[Route] = []
    accounts: AccountAlerts = AccountAlerts()


class FollowUps(_Strict):
    """The closed-loop SLA: how long an unclaimed answer may wait, and what happens then."""

    sla_bands: list[AnswerBand] = [AnswerBand.DETRACTOR]
    remind_after_hours: Annotated[float, Field(gt=0)] = 4
    """Unclaimed this long: remind the account owner (or the alert's channel)."""
    escalate_after_hours: Annotated[float, Field(gt=0)] = 24
    """Unclaimed this long: escalate to the managers' channel. This is the SLA."""
    escalation_slack_channels: list[str] = []
    escalation_teams_conversations: list[str] = []
    outcomes: Annotated[list[str], Field(min_length=1)] = [
        "resolved",
        "contacted",
        "unreachable",
        "no_action_needed",
    ]

    @model_validator(mode="after")
    def _ordered(self) -> FollowUps:
        if self.escalate_after_hours <= self.remind_after_hours:
            raise ValueError("escalate_after_hours must be greater than remind_after_hours")
        return self


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name like Europe/Berlin)") from None
    return name


class Digests(_Strict):
    """Scheduled summaries: the fallback time zone and how late a missed one may still go."""

    default_timezone: Annotated[str, AfterValidator(_known_zone)] = "UTC"
    """For subscribers whose chat platform does not say theirs."""
    catch_up_hours: Annotated[float, Field(ge=0, le=168)] = 12
    """A digest whose time passed while the service was down is sent on start if it is at
    most this late; older ones are skipped (yesterday's news) rather than sent late."""
    movers: Annotated[int, Field(ge=1, le=20)] = 5
    """How many accounts to show per list (movers up, movers down, new risks)."""
    snapshot_at: Annotated[str, Field(pattern=r"^(off|([01]\d|2[0-3]):[0-5]\d)$")] = "00:15"
    """When (UTC) the service stores the day's health and churn-risk snapshot that digests
    read; "off" when `closeloop snapshot` runs from cron instead."""


TriggerKind = Literal[
    "health_red",
    "usage_drop",
    "detractor",
    "promoter",
    "renewal_risk",
    "no_touchpoint",
    "onboarding_stalled",
]

_TRIGGER_PARAMETERS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required parameters, allowed parameters)
    "health_red": (set(), set()),
    "usage_drop": (set(), {"drop"}),
    "detractor": (set(), {"surveys"}),
    "promoter": (set(), {"surveys"}),
    "renewal_risk": ({"within_days", "min_risk"}, {"within_days", "min_risk"}),
    "no_touchpoint": ({"days"}, {"days"}),
    "onboarding_stalled": ({"days"}, {"days"}),
}


class Trigger(_Strict):
    """What starts a playbook for an account.

    - `health_red`: the account's health enters the red band;
    - `usage_drop`: usage fell by at least `drop` against its baseline (default: the
      `[usage_drop]` threshold);
    - `detractor` / `promoter`: a survey answer in that band (`surveys` narrows the kinds);
    - `renewal_risk`: a renewal within `within_days` days with churn risk ≥ `min_risk`;
    - `no_touchpoint`: no CSM touchpoint (call, QBR, training, email) for `days` days;
    - `onboarding_stalled`: still onboarding `days` days after the account was created
      (time to value).
    """

    kind: TriggerKind
    drop: Share | None = None
    within_days: Annotated[int, Field(ge=1, le=730)] | None = None
    min_risk: Share | None = None
    days: Annotated[int, Field(ge=1, le=730)] | None = None
    surveys: list[SurveyKind] = []

    @model_validator(mode="after")
    def _parameters_fit_the_kind(self) -> Trigger:
        required, allowed = _TRIGGER_PARAMETERS[self.kind]
        given = {
            name for name in ("drop", "within_days", "min_risk", "days") if getattr(self, name)
        }
        if self.surveys:
            given.add("surveys")
        missing = sorted(required - given)
        if missing:
            raise ValueError(f"a {self.kind} trigger needs {', '.join(missing)}")
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(f"a {self.kind} trigger takes no {', '.join(extra)}")
        return self


class Play(_Strict):
    """One step of a playbook, due `due_days` days after the run starts."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    due_days: Annotated[int, Field(ge=0, le=365)] = 7


class Playbook(_Strict):
    """A trigger and the plays its owner works through when it fires for an account."""

    key: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    """Stable name, stored with each run: renaming it starts a new playbook's history."""
    name: Annotated[str, Field(min_length=1, max_length=200)]
    trigger: Trigger
    plays: Annotated[list[Play], Field(min_length=1, max_length=20)]
    segments: list[Segment] = []
    """Only accounts of these segments (empty: all)."""


class Plays(_Strict):
    """What happens when a play passes its due date."""

    remind_overdue: bool = True
    """Remind the run's owner once when a play becomes overdue."""
    escalate_after_overdue_days: Annotated[float, Field(gt=0, le=90)] = 3
    """Still not done this many days after its due date: escalate to the managers' channel
    (`[follow_ups]` escalation targets), as an unclaimed detractor is."""


class Config(_Strict):
    health: Health = Health()
    usage_drop: UsageDrop = UsageDrop()
    churn: Churn = Churn()
    revenue: Revenue = Revenue()
    alerts: Alerts = Alerts()
    follow_ups: FollowUps = FollowUps()
    digests: Digests = Digests()
    playbooks: list[Playbook] = []
    plays: Plays = Plays()

    @model_validator(mode="after")
    def _playbook_keys_unique(self) -> Config:
        keys = [playbook.key for playbook in self.playbooks]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"playbook keys must be unique: {', '.join(repeated)} repeated")
        return self

    def playbook(self, key: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.key == key), None)


def _location(error_loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in error_loc) or "(top level)"


def load_config(path: Path | None) -> Config:
    """The configuration in `path`, or the defaults when no file is given."""
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{_location(e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise ConfigError(f"{path}: {problems}") from None
