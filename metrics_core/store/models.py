"""The data model: what Closeloop knows about accounts, people, money, usage and sentiment.

One table per fact the metrics need. Money is stored as NUMERIC(14, 2) in the account's
reporting currency and read back as float: the metrics are statistics over many accounts,
where float arithmetic is what pandas uses anyway. Dates that are calendar days (usage
rollups, contract terms) are `Date`; instants (a ticket opened, a survey received) are
timezone-aware UTC `DateTime`s.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no timezone-aware type, so values are stored naive in UTC and given their
    timezone back on the way out; PostgreSQL stores `timestamptz`. Naive input is refused
    rather than guessed, because a guessed timezone silently shifts SLAs and digests.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def money() -> Numeric[float]:
    """The one money column type, so every amount has the same precision."""
    return Numeric(14, 2, asdecimal=False)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the enum's value (readable in SQL and CSV), checked by a named constraint.
    return Enum(
        cls,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=20,
    )


class Segment(enum.StrEnum):
    ENTERPRISE = "Enterprise"
    MID_MARKET = "Mid-market"
    SMB = "SMB"


class LifecycleStage(enum.StrEnum):
    ONBOARDING = "onboarding"
    ADOPTING = "adopting"
    MATURE = "mature"
    CHURNED = "churned"


class TeamRole(enum.StrEnum):
    CSM = "csm"
    MANAGER = "manager"
    ADMIN = "admin"


class ArrMovementKind(enum.StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"


class RenewalStatus(enum.StrEnum):
    UPCOMING = "upcoming"
    RENEWED = "renewed"
    CHURNED = "churned"


class TicketPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


class SurveyKind(enum.StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"


SCORE_RANGES: dict[SurveyKind, tuple[int, int]] = {
    SurveyKind.NPS: (0, 10),
    SurveyKind.CSAT: (1, 5),
    SurveyKind.CES: (1, 7),
}
"""The answer scale of each survey kind, inclusive: NPS 0–10, CSAT 1–5, CES 2.0 1–7."""


class ActivityKind(enum.StrEnum):
    CALL = "call"
    QBR = "qbr"
    TRAINING = "training"
    EMAIL = "email"


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class AnswerBand(enum.StrEnum):
    """Where a survey answer sits on its scale, whatever the survey (see `surveys.band_of`)."""

    DETRACTOR = "detractor"
    PASSIVE = "passive"
    PROMOTER = "promoter"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DigestCadence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class DigestScope(enum.StrEnum):
    """Whose accounts a digest covers: everyone's, one segment's, or one owner's book."""

    PORTFOLIO = "portfolio"
    SEGMENT = "segment"
    OWNER = "owner"


class PlaybookRunStatus(enum.StrEnum):
    """A playbook run is open until its owner finishes it (every play done or skipped) or
    drops it; a dropped run is the comparison group that tells whether the plays worked."""

    OPEN = "open"
    COMPLETED = "completed"
    DROPPED = "dropped"


class PlayStatus(enum.StrEnum):
    TODO = "todo"
    DONE = "done"
    SKIPPED = "skipped"


class OutcomeStatus(enum.StrEnum):
    """Where an outcome promised at the sale stands."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    DELIVERED = "delivered"
    MISSED = "missed"


class AdvocacyKind(enum.StrEnum):
    """What a customer did for us: the outcome advocacy programmes exist for."""

    REFERRAL = "referral"
    REVIEW = "review"
    REFERENCE_CALL = "reference_call"
    CASE_STUDY = "case_study"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TeamMember(Base):
    """A CSM, manager or admin, with the chat identities the bot recognises them by."""

    __tablename__ = "team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[TeamRole] = mapped_column(_enum(TeamRole, "team_role"), default=TeamRole.CSM)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    teams_aad_object_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    active: Mapped[bool] = mapped_column(default=True)


class Account(Base):
    __tablename__ = "accounts"
    # An answer's email domain finds its account whatever the case (`respondents`).
    __table_args__ = (Index("ix_accounts_domain_lower", func.lower(text("domain"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    segment: Mapped[Segment] = mapped_column(_enum(Segment, "segment"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"), index=True)
    seats: Mapped[int] = mapped_column(Integer, default=0)
    lifecycle_stage: Mapped[LifecycleStage] = mapped_column(
        _enum(LifecycleStage, "lifecycle_stage"), default=LifecycleStage.ONBOARDING
    )
    created_on: Mapped[dt.date] = mapped_column(Date)
    inputs_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped by every write that changes this account's health inputs (see
    `metrics_core.store.input_versions`), so a computed answer can be reused until it is stale."""

    owner: Mapped[TeamMember | None] = relationship()


class Contact(Base):
    __tablename__ = "contacts"
    # Respondents are matched by address whatever its case: `lower(email) IN (…)` seeks
    # this index instead of reading every contact.
    __table_args__ = (Index("ix_contacts_email_lower", func.lower(text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))


class Contract(Base):
    """One term of a subscription; ARR changes within it are `ArrMovement`s."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    arr: Mapped[float] = mapped_column(money())


class ArrMovement(Base):
    """A change of an account's ARR; amounts are positive, the kind says which way."""

    __tablename__ = "arr_movements"
    __table_args__ = (Index("ix_arr_movements_effective_on_account", "effective_on", "account_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[ArrMovementKind] = mapped_column(_enum(ArrMovementKind, "arr_movement_kind"))
    amount: Mapped[float] = mapped_column(money())
    effective_on: Mapped[dt.date] = mapped_column(Date)


class Renewal(Base):
    __tablename__ = "renewals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), unique=True
    )
    renewal_date: Mapped[dt.date] = mapped_column(Date, index=True)
    arr: Mapped[float] = mapped_column(money())
    status: Mapped[RenewalStatus] = mapped_column(
        _enum(RenewalStatus, "renewal_status"), default=RenewalStatus.UPCOMING
    )


class UsageDaily(Base):
    """One account's product usage on one day, as the analytics tool rolls it up."""

    __tablename__ = "usage_daily"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    active_users: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    feature_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ProductFeature(Base):
    """A feature of the product, as first seen in usage: the denominator of adoption breadth.

    Kept as its own small table, written when usage arrives, so "how many features does
    the product have" is a lookup rather than a scan of every usage row's JSON.
    """

    __tablename__ = "product_features"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[dt.date] = mapped_column(Date)


class SourceWatermark(Base):
    """How far a data source has been delivered (e.g. usage rollups through yesterday).

    Windows over that source end here rather than on today's date: a rollup that has not
    arrived yet is not a day of zero usage.
    """

    __tablename__ = "source_watermarks"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    through: Mapped[dt.date] = mapped_column(Date)


class UsageEventId(Base):
    """A product-usage event already counted, by the `messageId` its sender gave it.

    Analytics tools deliver at least once, so a redelivered event finds its id here and
    changes nothing (`metrics_core.usage.ingest`). Ids are kept for `ingest.ID_RETENTION`
    after they arrive, longer than an event may arrive late, so the table stays the size
    of about a week of events.
    """

    __tablename__ = "usage_event_ids"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class UsageIdentity(Base):
    """Which account a product user belongs to, as the analytics tool said.

    Written by `group` calls (the group is the account) and `identify` calls (the email's
    domain is the account's). The user is kept only as a hash of the id the tool gave
    (`metrics_core.usage.events.user_key`), never as the id itself, which is often an email.
    """

    __tablename__ = "usage_identities"

    user_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    linked_by: Mapped[str] = mapped_column(String(16))
    """`group` or `identify`: a group call is the stronger statement and is not overridden
    by an email's domain."""
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class UsageActiveUser(Base):
    """One product user active for an account on a day: how `UsageDaily.active_users`
    counts distinct users when their events arrive over many requests.

    Only the recent days that events may still arrive for are kept; older rows are
    cleared (`metrics_core.usage.ingest.prune`), as their day's count no longer changes.
    """

    __tablename__ = "usage_active_users"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)
    user_key: Mapped[str] = mapped_column(String(32), primary_key=True)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(300), default="")
    priority: Mapped[TicketPriority] = mapped_column(_enum(TicketPriority, "ticket_priority"))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus, "ticket_status"))
    category: Mapped[str] = mapped_column(String(64), default="general")
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class SurveyResponse(Base):
    """An NPS, CSAT or CES answer; a provider's re-delivery updates the same row."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint(
            "provider", "provider_response_id", name="uq_survey_responses_provider_id"
        ),
        Index("ix_survey_responses_account_submitted", "account_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_response_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[SurveyKind] = mapped_column(_enum(SurveyKind, "survey_kind"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    respondent_email: Mapped[str | None] = mapped_column(String(254))
    respondent_name: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Activity(Base):
    """A CSM touchpoint: the relationship signal in health and the activity counts per CSM."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_account_occurred", "account_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind, "activity_kind"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class CsCost(Base):
    """What the CS organisation cost in a period (salaries, tools), for cost to retain.

    `segment` is empty when the cost is not attributed to one segment.
    """

    __tablename__ = "cs_costs"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    segment: Mapped[Segment | None] = mapped_column(_enum(Segment, "segment"))
    amount: Mapped[float] = mapped_column(money())


class FollowUp(Base):
    """The closed-loop task a survey response opens: claimed by one CSM, closed with an outcome."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[FollowUpStatus] = mapped_column(
        _enum(FollowUpStatus, "follow_up_status"), default=FollowUpStatus.OPEN, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    band: Mapped[AnswerBand] = mapped_column(
        _enum(AnswerBand, "band"),
        default=AnswerBand.PASSIVE,
        server_default=AnswerBand.PASSIVE.value,
    )
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Delivery(Base):
    """One message the service owes a chat target: the transactional outbox.

    A row is written in the same transaction as the fact it announces (a survey answer, a
    claim), so nothing is announced that was not stored and nothing stored goes unannounced.
    The message is rendered from current data when it is sent, not stored here: `version`
    counts the changes worth showing and `delivered_version` how far the chat has caught up,
    so a claim while a post is in flight simply leaves one more edit to make.

    `key` is unique: the same alert to the same target is one row however often the
    webhook is delivered. `sending_since` marks a first post in flight; if the process dies
    before the message id is recorded, the next attempt looks for the message (by `key`,
    which the post carries) before posting again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(128))
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    sending_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    message_channel: Mapped[str | None] = mapped_column(String(128))
    message_id: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class SeenEvent(Base):
    """An inbound event, by the id its platform gave it, claimed for processing.

    Platforms deliver events at least once (Slack retries one it got no 2xx for), so the
    unique (source, event_id) pair is what makes a redelivery recognisable, across
    replicas and restarts; `metrics_core.delivery.seen_events` says how the claim works.
    """

    __tablename__ = "seen_events"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    claimed_until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    """Until when the attempt that claimed it may still be processing it."""
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    """When it was processed; None while it is being processed, or never was."""


class HealthSnapshot(Base):
    """An account's health as computed on a day, so trends and movers come from history."""

    __tablename__ = "health_snapshots"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Numeric(5, 1, asdecimal=False))
    band: Mapped[str] = mapped_column(String(16))
    components: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    churn_probability: Mapped[float | None] = mapped_column(Numeric(5, 4, asdecimal=False))
    """Churn risk that day, when the day's model was at hand (backfilled days have none)."""
    churn_driver: Mapped[str | None] = mapped_column(String(64))
    """What raised that risk most."""


class DigestSubscription(Base):
    """A digest someone asked for: where it goes, when (local time in `timezone`), about what.

    The time is kept as local wall-clock time with an IANA zone, not as a UTC instant, so a
    09:00 digest stays at 09:00 across daylight-saving changes.
    """

    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(128))
    cadence: Mapped[DigestCadence] = mapped_column(_enum(DigestCadence, "digest_cadence"))
    weekday: Mapped[int | None] = mapped_column(Integer)
    """0 = Monday … 6 = Sunday, for weekly digests."""
    local_time: Mapped[str] = mapped_column(String(5))
    """"HH:MM", 24-hour, in `timezone`."""
    timezone: Mapped[str] = mapped_column(String(64))
    scope: Mapped[DigestScope] = mapped_column(_enum(DigestScope, "digest_scope"))
    segment: Mapped[Segment | None] = mapped_column(_enum(Segment, "segment"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(default=True, index=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class DigestRun(Base):
    """One period's digest for one subscription, claimed before it is sent.

    The unique (subscription, period) pair is what makes a digest exactly-once: a second
    scheduler, a restart or a retry tries to insert the same pair and finds it taken.
    """

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("subscription_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("digest_subscriptions.id", ondelete="CASCADE")
    )
    period: Mapped[str] = mapped_column(String(16))
    """The local date the digest is for ("2026-11-23"), the same for a daily or weekly one."""
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What this digest reported (accounts in the red, at high risk), so the next one can
    say what is new since."""


class ConversationReference(Base):
    """Where the bot can write to in Teams, kept so messages can be sent after any restart.

    Teams gives no way to start talking in a conversation the bot has not seen: the
    reference (service URL, conversation, tenant, bot) arrives with each activity and is
    stored. `user_id` is set for personal chats, so a DM to a team member finds its chat.
    """

    __tablename__ = "conversation_references"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(256), unique=True)
    conversation_type: Mapped[str | None] = mapped_column(String(32))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(512))
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The AAD object id of the user in a personal chat."""
    reference: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The whole reference as the Bot Framework serialises it."""
    active: Mapped[bool] = mapped_column(default=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class PlaybookRun(Base):
    """One playbook started for one account by its trigger, with its plays as a checklist.

    `open_key` ("<playbook>:<account id>") is set while the run is open and cleared when it
    ends; being unique, it is what keeps a trigger that fires again (on another replica, or
    the next day) from opening a second run while one is open, and lets it start a new one
    after the first is closed. The playbook's name and plays are copied in, so a run reads
    the same after `closeloop.toml` changes.
    """

    __tablename__ = "playbook_runs"
    __table_args__ = (Index("ix_playbook_runs_playbook_triggered", "playbook", "triggered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook: Mapped[str] = mapped_column(String(64))
    """The playbook's key in `closeloop.toml`."""
    playbook_name: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(32))
    """The trigger kind that fired (health_red, usage_drop, detractor, …)."""
    trigger_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the trigger saw (the score, the drop, the answer), for the message and stats."""
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"), index=True)
    status: Mapped[PlaybookRunStatus] = mapped_column(
        _enum(PlaybookRunStatus, "playbook_run_status"),
        default=PlaybookRunStatus.OPEN,
        index=True,
    )
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    triggered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    health_at_start: Mapped[float | None] = mapped_column(Numeric(5, 1, asdecimal=False))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    note: Mapped[str | None] = mapped_column(Text)

    plays: Mapped[list[PlaybookPlay]] = relationship(
        back_populates="run", order_by="PlaybookPlay.position", cascade="all, delete-orphan"
    )


class PlaybookPlay(Base):
    """One play of a run: a step its owner marks done or skipped (with a note) by a due date."""

    __tablename__ = "playbook_plays"
    __table_args__ = (
        UniqueConstraint("run_id", "position"),
        Index("ix_playbook_plays_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    """1, 2, … in the playbook's order."""
    title: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[PlayStatus] = mapped_column(
        _enum(PlayStatus, "play_status"), default=PlayStatus.TODO
    )
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    note: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    run: Mapped[PlaybookRun] = relationship(back_populates="plays")


class ScoreFeedback(Base):
    """Someone said an account's health score looks wrong: who, when, the score and why.

    The validity report counts these beside the backtest, because a score the team does
    not believe is not used, however well it backtests.
    """

    __tablename__ = "score_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    team_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL")
    )
    user_ref: Mapped[str] = mapped_column(String(128))
    """The chat user who disagreed ("slack:U0CSM1"), kept when they are not a team member."""
    score: Mapped[float] = mapped_column(Numeric(5, 1, asdecimal=False))
    band: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(16))
    """"too_high" or "too_low", when they said."""
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class SuccessOutcome(Base):
    """An outcome promised at the sale (the success plan), and whether the customer
    acknowledged the value when it was delivered."""

    __tablename__ = "success_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"), index=True)
    promised_on: Mapped[dt.date] = mapped_column(Date)
    target_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[OutcomeStatus] = mapped_column(
        _enum(OutcomeStatus, "outcome_status"), default=OutcomeStatus.ON_TRACK
    )
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date)
    """When the customer acknowledged the value delivered (None: not yet, or never)."""
    note: Mapped[str | None] = mapped_column(Text)


class AdvocacyEvent(Base):
    """A referral, review, reference call or case study a customer gave, often recorded on
    a promoter's follow-up."""

    __tablename__ = "advocacy_events"
    __table_args__ = (Index("ix_advocacy_events_occurred_on", "occurred_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    """The import's id, or "follow-up:<id>:<kind>" for one recorded on a follow-up."""
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL")
    )
    team_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_members.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[AdvocacyKind] = mapped_column(_enum(AdvocacyKind, "advocacy_kind"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
