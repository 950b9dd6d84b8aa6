"""The columns each import kind accepts: the user-facing contract of `closeloop import`.

The README's column table is generated from, and tested against, `COLUMNS`, so what the
documentation promises and what the importer checks cannot drift apart. Enum columns
list the values of the model's enums rather than retyping them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from metrics_core.store.models import (
    SCORE_RANGES,
    ActivityKind,
    AdvocacyKind,
    LifecycleStage,
    OutcomeStatus,
    Segment,
    SurveyKind,
    TeamRole,
    TicketPriority,
    TicketStatus,
)

KINDS: tuple[str, ...] = (
    "team",
    "accounts",
    "contacts",
    "contracts",
    "usage",
    "tickets",
    "surveys",
    "activities",
    "cs_costs",
    "success_plans",
    "advocacy",
)

FEATURE_PREFIX = "feature_"
"""Usage columns named `feature_<name>` are per-feature counts, stored as `{"<name>": n}`."""


class ContractStatus(enum.StrEnum):
    """Whether a contract term renewed; only the import file carries it, as renewals."""

    ACTIVE = "active"
    CHURNED = "churned"


@dataclass(frozen=True)
class ColumnSpec:
    """One CSV column: its header name, whether every row needs a value, and its format."""

    name: str
    required: bool
    kind: str
    description: str


def enum_kind(values: type[enum.Enum]) -> str:
    """The `kind` of an enum column, e.g. "enum: low|normal|high|urgent"."""
    return "enum: " + "|".join(str(member.value) for member in values)


_TIMESTAMP_NOTE = "ISO 8601, e.g. 2026-11-20T09:30:00Z; without an offset it is read as UTC"
_ACCOUNT_REF = "The account's `external_id`; the account must already be imported"
_SCALES = ", ".join(
    f"{kind.value.upper()} {low}–{high}" for kind, (low, high) in SCORE_RANGES.items()
)

COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "team": (
        ColumnSpec("email", True, "email", "Work email; identifies the team member"),
        ColumnSpec("name", True, "text", "Full name as shown in replies"),
        ColumnSpec("role", False, enum_kind(TeamRole), f"Default {TeamRole.CSM}"),
        ColumnSpec("slack_user_id", False, "text", "Slack member id (U…), to recognise them"),
        ColumnSpec("teams_aad_object_id", False, "text", "Microsoft Entra object id, for Teams"),
        ColumnSpec(
            "manager_email",
            False,
            "email",
            "Their manager's email: an existing team member or one in the same file",
        ),
    ),
    "accounts": (
        ColumnSpec("external_id", True, "text", "Your CRM's account id; identifies the account"),
        ColumnSpec("name", True, "text", "Account name"),
        ColumnSpec("domain", False, "text", "Email domain (acme.example); matches survey answers"),
        ColumnSpec("segment", True, enum_kind(Segment), "Customer segment"),
        ColumnSpec("owner_email", False, "email", "The owning CSM: an existing team member"),
        ColumnSpec("seats", False, "integer", "Licensed seats; default 0"),
        ColumnSpec(
            "lifecycle_stage",
            False,
            enum_kind(LifecycleStage),
            f"Default {LifecycleStage.ONBOARDING}; contract imports set {LifecycleStage.CHURNED}",
        ),
        ColumnSpec("created_on", True, "date", "When the account became a customer (YYYY-MM-DD)"),
    ),
    "contacts": (
        ColumnSpec("email", True, "email", "Identifies the contact; matches survey answers"),
        ColumnSpec("name", True, "text", "Full name"),
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("title", False, "text", "Job title"),
    ),
    "contracts": (
        ColumnSpec("external_id", True, "text", "Your CRM's contract id; identifies the term"),
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("start_date", True, "date", "First day of the term (YYYY-MM-DD)"),
        ColumnSpec("end_date", True, "date", "Last day of the term, not before start_date"),
        ColumnSpec("arr", True, "number", "Annual recurring revenue of the term, ≥ 0"),
        ColumnSpec(
            "status",
            False,
            enum_kind(ContractStatus),
            f"Default {ContractStatus.ACTIVE}; {ContractStatus.CHURNED} = the customer did not "
            "renew this term",
        ),
    ),
    "usage": (
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("date", True, "date", "The day (YYYY-MM-DD); one row per account and day"),
        ColumnSpec("active_users", True, "integer", "Distinct active users that day, ≥ 0"),
        ColumnSpec("sessions", False, "integer", "Sessions that day; default 0"),
        ColumnSpec("events", False, "integer", "Tracked events that day; default 0"),
        ColumnSpec(
            f"{FEATURE_PREFIX}*",
            False,
            "integer",
            f"Any number of `{FEATURE_PREFIX}<name>` columns: uses of feature <name> that day",
        ),
    ),
    "tickets": (
        ColumnSpec("external_id", True, "text", "Your help desk's ticket id"),
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("subject", False, "text", "Ticket subject"),
        ColumnSpec("priority", True, enum_kind(TicketPriority), "Ticket priority"),
        ColumnSpec("status", True, enum_kind(TicketStatus), "Ticket status"),
        ColumnSpec("category", False, "text", "Free-form category; default general"),
        ColumnSpec("opened_at", True, "timestamp", f"When it was opened ({_TIMESTAMP_NOTE})"),
        ColumnSpec("closed_at", False, "timestamp", "When it was closed; not before opened_at"),
    ),
    "surveys": (
        ColumnSpec("response_id", True, "text", "The survey tool's response id"),
        ColumnSpec("survey", True, enum_kind(SurveyKind), "Which question was answered"),
        ColumnSpec("score", True, "integer", f"The answer, within the survey's scale: {_SCALES}"),
        ColumnSpec("comment", False, "text", "Free-text comment"),
        ColumnSpec("respondent_email", False, "email", "Who answered; matches contacts, domains"),
        ColumnSpec("respondent_name", False, "text", "Who answered"),
        ColumnSpec(
            "account_external_id",
            False,
            "text",
            "The account, if known; otherwise matched by contact email, then email domain",
        ),
        ColumnSpec("submitted_at", True, "timestamp", f"When it was answered ({_TIMESTAMP_NOTE})"),
        ColumnSpec(
            "provider",
            False,
            "text",
            "Survey tool (delighted, typeform, …); with response_id identifies the answer; "
            "default import",
        ),
    ),
    "activities": (
        ColumnSpec("external_id", True, "text", "Your CRM's activity id"),
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("kind", True, enum_kind(ActivityKind), "What kind of touchpoint"),
        ColumnSpec("occurred_at", True, "timestamp", f"When it happened ({_TIMESTAMP_NOTE})"),
        ColumnSpec("csm_email", False, "email", "The team member who held it"),
        ColumnSpec("note", False, "text", "Free-text note"),
    ),
    "cs_costs": (
        ColumnSpec(
            "period_start",
            True,
            "date",
            "First day the cost covers (YYYY-MM-DD); with period_end and segment identifies "
            "the row",
        ),
        ColumnSpec("period_end", True, "date", "Last day the cost covers, not before period_start"),
        ColumnSpec(
            "amount",
            True,
            "number",
            "What the CS team cost in those days (salaries, tools), in the revenue currency, ≥ 0",
        ),
        ColumnSpec(
            "segment",
            False,
            enum_kind(Segment),
            "The segment the cost serves; empty = the whole team, counted only without a "
            "segment filter",
        ),
    ),
    "success_plans": (
        ColumnSpec("external_id", True, "text", "Your id of the promised outcome; identifies it"),
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("title", True, "text", "What was promised, e.g. Month-end close in 3 days"),
        ColumnSpec(
            "owner_email",
            False,
            "email",
            "The team member who owns the promise; empty = the account's owner",
        ),
        ColumnSpec("promised_on", True, "date", "When it was promised, usually the sale"),
        ColumnSpec("target_date", True, "date", "When it is due, not before promised_on"),
        ColumnSpec(
            "status",
            False,
            enum_kind(OutcomeStatus),
            f"Default {OutcomeStatus.ON_TRACK}; past its target date and not "
            f"{OutcomeStatus.DELIVERED} it counts as overdue",
        ),
        ColumnSpec(
            "delivered_on",
            False,
            "date",
            f"When it was delivered: required when status is {OutcomeStatus.DELIVERED}, "
            "and only then",
        ),
        ColumnSpec(
            "acknowledged_on",
            False,
            "date",
            "When the customer acknowledged the value delivered; not before delivered_on",
        ),
        ColumnSpec("note", False, "text", "Free-text note"),
    ),
    "advocacy": (
        ColumnSpec(
            "external_id",
            True,
            "text",
            "Your id of the act; identifies it (ids starting follow-up: are kept for chat)",
        ),
        ColumnSpec("account_external_id", True, "text", _ACCOUNT_REF),
        ColumnSpec("kind", True, enum_kind(AdvocacyKind), "What the customer did for you"),
        ColumnSpec("occurred_on", True, "date", "When it happened (YYYY-MM-DD)"),
        ColumnSpec(
            "csm_email", False, "email", "The team member credited; empty = the account's owner"
        ),
        ColumnSpec("note", False, "text", "Free-text note"),
    ),
}


def expected_columns(kind: str) -> str:
    """The columns of `kind` for messages, required ones marked with *, e.g. "email*, name*"."""
    return ", ".join(f"{spec.name}{'*' if spec.required else ''}" for spec in COLUMNS[kind])
