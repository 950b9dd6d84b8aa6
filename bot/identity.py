"""Which team member asked, and which one a command names.

The asker is their platform id looked up in the team table. A member named in a command
(`owner=@dana`, `owner=<@U0CSM1|dana>`, a Teams mention, `dana.whitfield@…`) is found by
`metrics_core.accounts.team.find_members`; this module only takes the chat wrapping off mentions
and words the answer when nobody or several people match.
"""

from __future__ import annotations

import functools
import re

from bot.context import BotContext
from bot.formatting import echoed
from bot.inbound import Actor, Platform
from bot.reply import Outcome, Reply, Table
from metrics_core.accounts.team import Member, find_members, member_by_chat_id

_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|([^>]*))?>$")
_TEAMS_MENTION = re.compile(r"^<at>(.*)</at>$", re.DOTALL)


def not_on_team(actor: Actor, heading: str = "You are not on the CS team yet") -> Reply:
    """The answer to someone the team table does not know, with the fix that fits them.

    At a terminal nobody is signed in: `closeloop ask` needs `--user` to say who asks.
    """
    if actor.platform is Platform.CONSOLE and actor.user_id is None:
        return Reply(
            heading="Who is asking?",
            paragraphs=(
                "Say who you are with `--user` and your Slack user id, e.g. "
                '`closeloop ask --user U0CSM1 "followups mine"` (U0CSM1 is Dana Whitfield in '
                "the demo data).",
            ),
            outcome=Outcome.PROBLEM,
        )
    return Reply(
        heading=heading,
        paragraphs=("Ask your admin to add your chat user id with `closeloop import team`.",),
        outcome=Outcome.PROBLEM,
    )


async def team_member(actor: Actor, context: BotContext) -> Member | None:
    if actor.user_id is None:
        return None
    # Slack ids, and the console's `--user`, which takes a Slack id.
    platform = Platform.TEAMS if actor.platform is Platform.TEAMS else Platform.SLACK
    return await context.db.read(
        functools.partial(member_by_chat_id, platform=platform, user_id=actor.user_id)
    )


def _spellings(text: str) -> list[str]:
    """What to look up for the text: a Slack mention's id first, then the name it shows."""
    text = text.strip()
    if (slack := _SLACK_MENTION.match(text)) is not None:
        return [slack[1], *([slack[2]] if slack[2] else [])]
    if (teams := _TEAMS_MENTION.match(text)) is not None:
        return [teams[1]]
    return [text]


async def named_member(text: str, context: BotContext) -> Member | Reply:
    """The one active team member `text` names, or the answer that says why not.

    Several matches (two people called Dana) are listed, so the asker can pick the full
    name or email instead of guessing why the command did nothing.
    """
    shown = echoed(text)
    for spelling in _spellings(text):
        found = await context.db.read(functools.partial(find_members, text=spelling))
        if len(found) == 1:
            return found[0]
        if found:
            return Reply(
                heading=f"Which {shown.lstrip('@')}? {len(found)} people on the CS team match",
                paragraphs=("Give the full name or the email of the one you mean.",),
                tables=(Table(("Name", "Email"), tuple((m.name, m.email) for m in found)),),
                outcome=Outcome.PROBLEM,
            )
    return Reply(
        heading=f"I can't find “{shown}” on the CS team",
        paragraphs=(
            "Name a team member by first or full name, email, @handle, or mention them. "
            "Your admin adds people with `closeloop import team`.",
        ),
        outcome=Outcome.PROBLEM,
    )
