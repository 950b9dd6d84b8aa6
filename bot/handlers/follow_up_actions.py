"""The Claim, Reassign, Close and Record advocacy buttons of an alert.

Who presses is looked up by their chat id in the team table at the moment they press:
the card carries only the follow-up id, so a forwarded or forged payload cannot claim in
someone else's name, and people outside the CS team cannot take follow-ups at all. The
answer goes to the presser alone; the alert itself catches up through the outbox.
"""

from __future__ import annotations

import functools

from bot.actions import ADVOCACY, CLAIM, CLOSE, REASSIGN
from bot.context import BotContext
from bot.handlers.value import ADVOCACY_NAMES
from bot.identity import named_member, team_member
from bot.inbound import ActionRequest
from bot.messages.alerts import advocacy_form, close_form, reassign_form
from bot.reply import Form, Reply
from metrics_core.accounts.team import Member, active_members
from metrics_core.followups import work as followups
from metrics_core.followups.work import Change, Outcome
from metrics_core.value.advocacy import AdvocacyRecord, Recorded, record_advocacy


def _follow_up_id(request: ActionRequest) -> int | None:
    raw = request.payload.get("follow_up", "")
    return int(raw) if raw.isdecimal() else None


async def follow_up_form(request: ActionRequest, context: BotContext) -> Form | None:
    """The form a button asks before acting, or None when it acts at once (Claim)."""
    if request.action_id == CLOSE:
        return close_form(context.config.follow_ups.outcomes)
    if request.action_id == REASSIGN:
        return reassign_form(await context.db.read(functools.partial(active_members)))
    if request.action_id == ADVOCACY:
        return advocacy_form()
    return None


def _answer(change: Change, verb: str) -> Reply:
    owner = change.owner or "someone"
    if change.outcome is Outcome.DONE:
        return Reply(heading=f"Done: {verb} (owner: {owner})")
    headings = {
        Outcome.ALREADY_YOURS: "It is already yours",
        Outcome.TAKEN: f"Already claimed by {owner}",
        Outcome.CLOSED: f"Already closed (owner: {owner})",
        Outcome.NOT_FOUND: "That follow-up no longer exists",
        Outcome.NOT_ALLOWED: f"Not yours to change: {change.detail or 'ask its owner'}",
        Outcome.INVALID: f"Not done: {change.detail or 'invalid input'}",
    }
    return Reply(heading=headings[change.outcome])


def _recorded(record: AdvocacyRecord) -> Reply:
    what = ADVOCACY_NAMES[record.kind][0] if record.kind is not None else "advocacy"
    of = f" of {record.account}" if record.account else ""
    if record.outcome is Recorded.DONE:
        return Reply(heading=f"Recorded: {what}{of}")
    if record.outcome is Recorded.ALREADY:
        by = f" by {record.recorded_by}" if record.recorded_by else ""
        on = f" on {record.recorded_on:%Y-%m-%d}" if record.recorded_on else ""
        return Reply(heading=f"Already recorded{by}{on}: {what}{of}")
    headings = {
        Recorded.NOT_FOUND: "That follow-up no longer exists",
        Recorded.NOT_A_PROMOTER: "Advocacy is recorded on a promoter's follow-up",
        Recorded.NO_ACCOUNT: "Match this answer to an account first: advocacy counts per account",
        Recorded.INVALID: f"Not recorded: {record.detail or 'pick what they did'}",
    }
    return Reply(heading=headings[record.outcome])


async def _record(
    request: ActionRequest, context: BotContext, follow_up_id: int, member: Member
) -> Reply:
    kind = request.payload.get("advocacy_kind", "").strip()
    if not kind:
        return Reply(heading="Pick what they did")
    record = await context.db.write(
        functools.partial(
            record_advocacy,
            follow_up_id=follow_up_id,
            member=member,
            kind=kind,
            note=request.payload.get("advocacy_note"),
            now=context.now(),
        )
    )
    if record.outcome is Recorded.DONE:
        context.outbox_changed()
    return _recorded(record)


async def act_on_follow_up(request: ActionRequest, context: BotContext) -> Reply:
    follow_up_id = _follow_up_id(request)
    if follow_up_id is None:
        return Reply(heading="That button has lost its follow-up; open the alert again")
    member = await team_member(request.actor, context)
    if member is None:
        return Reply(
            heading="Only the CS team can take follow-ups",
            paragraphs=("Ask an admin to add you to the team (`closeloop import team`).",),
        )
    if request.action_id == ADVOCACY:
        return await _record(request, context, follow_up_id, member)
    now = context.now()
    payload = request.payload
    if request.action_id == CLAIM:
        change = await context.db.write(
            functools.partial(followups.claim, follow_up_id=follow_up_id, member=member, now=now)
        )
        verb = "claimed"
    elif request.action_id == REASSIGN:
        new_owner = payload.get("owner", "").strip()
        if not new_owner:
            return Reply(heading="Pick who should own it")
        # A form sends the member's id; anything else is a name as people type it.
        named = int(new_owner) if new_owner.isdecimal() else await named_member(new_owner, context)
        if isinstance(named, Reply):
            return named
        owner_id = named if isinstance(named, int) else named.id
        change = await context.db.write(
            functools.partial(
                followups.reassign,
                follow_up_id=follow_up_id,
                member=member,
                new_owner_id=owner_id,
                now=now,
            )
        )
        verb = "reassigned"
    else:
        change = await context.db.write(
            functools.partial(
                followups.close,
                follow_up_id=follow_up_id,
                member=member,
                outcome=payload.get("outcome", ""),
                note=payload.get("note"),
                allowed_outcomes=context.config.follow_ups.outcomes,
                now=now,
            )
        )
        verb = "closed"
    if change.outcome is Outcome.DONE:
        context.outbox_changed()
    return _answer(change, verb)
