"""`digest subscribe | list | unsubscribe | preview`: scheduled summaries, managed from chat.

A channel subscription posts to the channel it was made in; `mine` goes to the asker's
direct messages and covers their own book. Times are the subscriber's wall-clock time:
the zone given, else the one their chat profile says, else `digests.default_timezone`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.context import BotContext
from bot.formatting import echoed
from bot.identity import named_member, not_on_team, team_member
from bot.inbound import Actor, CommandRequest, Platform
from bot.messages.digest import build_digest, scope_label
from bot.reply import Outcome, Reply, Table
from metrics_core.delivery.targets import Target
from metrics_core.digests.facts import digest_facts
from metrics_core.digests.scheduled import (
    ScheduledDigest,
    schedule_digest,
    scheduled_digests,
    stop_digest,
)
from metrics_core.digests.subscriptions import WEEKDAYS, Schedule, Scope
from metrics_core.store.models import DigestCadence, DigestScope, Segment

USAGE = (
    "digest subscribe daily HH:MM [Area/City] [segment=… | owner=@user | mine] | "
    "subscribe weekly mon HH:MM … | list | unsubscribe ID | preview [daily | weekly] [scope]"
)

_HELP = Reply(
    heading="Digests",
    paragraphs=(
        "`/digest subscribe daily 09:00` posts a morning summary to this channel: portfolio "
        "KPIs, health movers, new risks, renewals, overdue follow-ups and NPS.",
        "`/digest subscribe weekly mon 09:00 Europe/Berlin segment=Enterprise` — weekly, in "
        "a time zone, for one segment. `owner=@dana` covers one CSM's book; `mine` sends your "
        "own book to your direct messages.",
        "`/digest list` shows what is scheduled here, `/digest unsubscribe 3` stops one, "
        "`/digest preview` shows today's digest to you only.",
    ),
)

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEEKDAY_NAMES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    day.lower(): i
    for i, day in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


class _Refused(Exception):
    """A request that cannot be done, with the answer that says why."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.heading)
        self.reply = reply


def _refuse(heading: str, hint: str | None = None) -> _Refused:
    return _Refused(
        Reply(heading=heading, paragraphs=(hint or f"Usage: `{USAGE}`",), outcome=Outcome.PROBLEM)
    )


@dataclass(frozen=True, slots=True)
class _Request:
    cadence: DigestCadence
    weekday: int | None
    time: dt.time | None
    timezone: str | None
    scope: str | None  # "mine", "segment=…", "owner=…", or None


def _parse(words: list[str], *, need_time: bool, need_day: bool) -> _Request:
    """The words after the verb; a schedule needs a time (and a day, weekly), a preview not."""
    cadence = DigestCadence.DAILY
    weekday: int | None = None
    at: dt.time | None = None
    zone: str | None = None
    scope: str | None = None
    rest = list(words)
    if rest and rest[0].lower() in ("daily", "weekly"):
        cadence = DigestCadence(rest.pop(0).lower())
    if cadence is DigestCadence.WEEKLY:
        if rest and rest[0].lower() in _WEEKDAY_NAMES:
            weekday = _WEEKDAY_NAMES[rest.pop(0).lower()]
        elif need_day:
            raise _refuse(
                "Which day?", "A weekly digest needs a day: `/digest subscribe weekly mon 09:00`."
            )
    while rest:
        word = rest.pop(0)
        lowered = word.lower()
        if (match := _TIME.match(word)) is not None:
            at = dt.time(int(match[1]), int(match[2]))
        elif lowered == "mine" or lowered.startswith(("segment=", "owner=")):
            # An owner may be a Teams mention with spaces: the rest is the owner.
            scope = " ".join([word, *rest])
            rest = []
        elif "/" in word or word.upper() == "UTC":
            zone = "UTC" if word.upper() == "UTC" else word
        else:
            raise _refuse(f"I don't understand “{echoed(word)}”")
    if need_time and at is None:
        raise _refuse(
            "At what time?", "Give a time as HH:MM, e.g. `/digest subscribe daily 09:00`."
        )
    return _Request(cadence, weekday, at, zone, scope)


def _zone(asked: str | None, actor: Actor, context: BotContext) -> str:
    for candidate in (asked, actor.timezone):
        if candidate:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                if candidate is asked:
                    raise _refuse(
                        f"Unknown time zone “{candidate}”",
                        "Use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`.",
                    ) from None
                continue
            return candidate
    return context.config.digests.default_timezone


async def _scope(scope: str | None, actor_member_id: int, context: BotContext) -> Scope:
    if scope is None:
        return Scope(DigestScope.PORTFOLIO)
    if scope.lower() == "mine":
        return Scope(DigestScope.OWNER, owner_id=actor_member_id)
    name, _, value = scope.partition("=")
    if name.lower() == "segment":
        for segment in Segment:
            if segment.value.lower() == value.strip().lower():
                return Scope(DigestScope.SEGMENT, segment=segment)
        raise _refuse(
            f"Unknown segment “{value}”",
            "Segments are " + ", ".join(s.value for s in Segment) + ".",
        )
    owner = await named_member(value, context)
    if isinstance(owner, Reply):
        raise _Refused(owner)
    return Scope(DigestScope.OWNER, owner_id=owner.id)


def _platform(actor: Actor) -> Platform:
    if actor.platform in (Platform.SLACK, Platform.TEAMS):
        return actor.platform
    raise _refuse(
        "Digests are delivered in Slack or Teams",
        "Subscribe from the channel or chat that should receive it.",
    )


def _direct(actor: Actor) -> Target:
    """The asker's own direct messages, as the outbox addresses them."""
    assert actor.user_id is not None
    return Target.person(_platform(actor), actor.user_id)


def _here(request: CommandRequest) -> Target:
    platform = _platform(request.actor)
    if not request.conversation:
        raise _refuse("Subscribe from the channel that should receive the digest")
    return Target(platform, request.conversation)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _covers(digest: ScheduledDigest) -> str:
    return scope_label(digest.scope, digest.owner_name)


def _next_send(digest: ScheduledDigest) -> str:
    zone = digest.schedule.timezone
    return f"{digest.next_due.astimezone(ZoneInfo(zone)):%a %d %b %H:%M} {zone}"


async def _subscribe(request: CommandRequest, words: list[str], context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor, "Digests are for the CS team")
    asked = _parse(words, need_time=True, need_day=True)
    assert asked.time is not None
    zone = _zone(asked.timezone, request.actor, context)
    scope = await _scope(asked.scope, member.id, context)
    mine = asked.scope is not None and asked.scope.lower() == "mine"
    target = _direct(request.actor) if mine else _here(request)
    schedule = Schedule(asked.cadence, asked.time, zone, asked.weekday)
    subscribed = await context.db.write(
        functools.partial(
            schedule_digest,
            target=target,
            schedule=schedule,
            scope=scope,
            created_by=request.actor.user_id,
            now=context.now(),
        )
    )
    context.schedule_changed()
    digest = subscribed.digest
    where = "your direct messages" if mine else "this conversation"
    return Reply(
        heading=(
            f"Digest #{digest.id} {'scheduled' if subscribed.created else 'was already scheduled'}"
        ),
        paragraphs=(
            f"{_sentence(schedule.describe())} to {where}, covering: {_covers(digest)}. "
            f"The next one goes out {_next_send(digest)}.",
            f"Stop it with `/digest unsubscribe {digest.id}`.",
        ),
    )


async def _list(request: CommandRequest, context: BotContext) -> Reply:
    here = _here(request) if request.conversation else None
    direct = _direct(request.actor) if request.actor.user_id else None
    targets = tuple(target for target in (here, direct) if target is not None)
    digests = await context.db.read(
        functools.partial(scheduled_digests, targets=targets, now=context.now())
    )
    listed = tuple(
        (
            f"#{digest.id}",
            digest.schedule.describe(),
            _covers(digest),
            "here" if digest.target == here else "your DMs",
            _next_send(digest),
        )
        for digest in digests
    )
    if not listed:
        return Reply(
            heading="No digests scheduled here",
            paragraphs=("Start one with `/digest subscribe daily 09:00`.",),
        )
    return Reply(
        heading="Scheduled digests",
        tables=(Table(("ID", "When", "Covers", "To", "Next"), listed),),
        notes=("Stop one with `/digest unsubscribe ID`.",),
    )


async def _unsubscribe(request: CommandRequest, words: list[str], context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor, "Digests are for the CS team")
    if len(words) != 1 or not words[0].lstrip("#").isdecimal():
        return Reply(
            heading="Which digest?",
            paragraphs=("Give its number: `/digest unsubscribe 3` (`/digest list` shows them).",),
            outcome=Outcome.PROBLEM,
        )
    subscription_id = int(words[0].lstrip("#"))
    places = tuple(
        t for t in (_here(request) if request.conversation else None, _direct(request.actor)) if t
    )
    stopped = await context.db.write(
        functools.partial(
            stop_digest, subscription_id=subscription_id, places=places, now=context.now()
        )
    )
    if not stopped:
        return Reply(
            heading=f"No digest #{subscription_id} here",
            paragraphs=("`/digest list` shows the digests of this conversation and your DMs.",),
            outcome=Outcome.PROBLEM,
        )
    context.schedule_changed()
    return Reply(
        heading=f"Digest #{subscription_id} stopped",
        paragraphs=("Nothing more will be sent for it, starting with the next one due.",),
    )


async def _preview(request: CommandRequest, words: list[str], context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor, "Digests are for the CS team")
    asked = _parse(words, need_time=False, need_day=False)
    scope = await _scope(asked.scope, member.id, context)
    now = context.now()
    zone = _zone(asked.timezone, request.actor, context)
    today = now.astimezone(ZoneInfo(zone)).date()
    facts = await context.db.read(
        functools.partial(
            digest_facts,
            cadence=asked.cadence,
            scope=scope,
            as_of=today,
            window_end=now,
            config=context.config,
            now=now,
            previous=None,
        )
    )
    reply = build_digest(facts, config=context.config, now=now).reply
    return dataclasses.replace(reply, notes=(*reply.notes, "Preview: only you see this."))


async def digest_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    verb = words[0].lower() if words else "help"
    rest = words[1:]
    try:
        if verb == "subscribe":
            return await _subscribe(request, rest, context)
        if verb == "list":
            return await _list(request, context)
        if verb in ("unsubscribe", "stop"):
            return await _unsubscribe(request, rest, context)
        if verb == "preview":
            return await _preview(request, rest, context)
    except _Refused as refused:
        return refused.reply
    if verb == "help":
        return _HELP
    return Reply(
        heading=f"I don't understand “{echoed(verb)}”",
        paragraphs=(f"Usage: `{USAGE}`",),
        outcome=Outcome.PROBLEM,
    )
