"""`followups [mine|open]`: survey follow-ups still waiting, oldest first."""

from __future__ import annotations

import datetime as dt

from bot.context import BotContext
from bot.identity import team_member
from bot.reply import Reply, Table
from bot.requests import CommandRequest
from metrics_core.followups import open_follow_ups

USAGE = "followups [mine | open]"


def _age(created: dt.datetime, now: dt.datetime) -> str:
    hours = (now - created).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


async def followups_command(request: CommandRequest, context: BotContext) -> Reply:
    scope = (request.args or "open").lower()
    if scope not in ("mine", "open"):
        return Reply(
            heading=f"“{request.args}” is not a choice", paragraphs=(f"Usage: `{USAGE}`.",)
        )
    owner_id = None
    heading = "Open follow-ups"
    if scope == "mine":
        member = await team_member(request.actor, context)
        if member is None:
            return Reply(
                heading="You are not on the CS team yet",
                paragraphs=(
                    "Ask your admin to add your chat user id with `closeloop import team`.",
                ),
            )
        owner_id, heading = member.id, "Your open follow-ups"
    items = await context.db.read(lambda session: open_follow_ups(session, owner_id=owner_id))
    if not items:
        return Reply(heading=heading, paragraphs=("Nothing is waiting. Every loop is closed.",))
    now = dt.datetime.now(dt.UTC)
    rows = tuple(
        (
            item.account or "unmatched",
            f"{item.kind.upper()} {item.score}",
            item.status.value,
            item.owner or "unclaimed",
            _age(item.created_at, now),
            (item.comment or "")[:60],
        )
        for item in items
    )
    return Reply(
        heading=heading,
        tables=(Table(("Account", "Answer", "Status", "Owner", "Waiting", "Comment"), rows),),
    )
