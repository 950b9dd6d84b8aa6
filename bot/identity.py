"""Which team member asked: the actor's platform id looked up in the team table."""

from __future__ import annotations

from bot.context import BotContext
from bot.requests import Actor, Platform
from metrics_core.team import Member, member_by_chat_id


async def team_member(actor: Actor, context: BotContext) -> Member | None:
    if actor.user_id is None:
        return None
    user = actor.user_id
    if actor.platform is Platform.TEAMS:
        return await context.db.read(lambda session: member_by_chat_id(session, teams=user))
    # Slack ids, and the console's `--user`, which takes a Slack id.
    return await context.db.read(lambda session: member_by_chat_id(session, slack=user))
