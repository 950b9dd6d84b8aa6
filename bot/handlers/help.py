"""`help`, the answer to a command nobody registered, and the welcome on install."""

from __future__ import annotations

import difflib

from bot.commands import CommandRegistry
from bot.context import BotContext
from bot.reply import Reply, Table
from bot.requests import CommandRequest

WHAT_IT_DOES = "Customer-success answers from your CRM, product, help-desk and survey data."

# What a newcomer is most likely to want first, in that order. They are written out rather
# than taken from each command's usage line because a usage line shows syntax
# (`health <account>`), and a first example should be something one can type as it is.
WELCOME_EXAMPLES = ("health acme", "churn top", "followups mine", "digest subscribe daily 09:00")


def _command_table(registry: CommandRegistry) -> Table:
    return Table(
        columns=("Command", "What it answers"),
        rows=tuple((command.usage, command.summary) for command in registry),
    )


async def help_command(request: CommandRequest, context: BotContext) -> Reply:
    return Reply(
        heading="Closeloop commands",
        paragraphs=(WHAT_IT_DOES,),
        tables=(_command_table(context.registry),),
    )


def unknown_command(name: str, registry: CommandRegistry) -> Reply:
    close = difflib.get_close_matches(name, registry.names(), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return Reply(
        heading=f"I don't know the command `{name}`",
        paragraphs=(f"Here is what I can answer.{hint}",),
        tables=(_command_table(registry),),
    )


def welcome(registry: CommandRegistry, *, bot_name: str = "Closeloop") -> Reply:
    """The one short card a conversation gets when Closeloop is added to it.

    Each example is shown only while its command is registered, and described by that
    command's own summary, so the welcome can never advertise a command that would be
    answered with "I don't know". `bot_name` is how the platform shows the bot, because
    that is what people type after the @ in a channel.
    """
    rows: list[tuple[str, str]] = []
    for example in WELCOME_EXAMPLES:
        command = registry.get(example.split()[0])
        if command is not None:
            rows.append((example, command.summary))
    paragraphs = [
        f"{WHAT_IT_DOES} Health, churn risk, NPS, renewals and revenue on request, and survey "
        "answers as alerts you claim and follow up until the loop is closed."
    ]
    if rows:
        paragraphs.append(
            "In a channel or group chat I answer when @mentioned: "
            f"`@{bot_name} {rows[0][0]}`. In a personal chat, just type."
        )
    return Reply(
        heading=f"Welcome to {bot_name}",
        paragraphs=tuple(paragraphs),
        tables=(Table(("Try", "What it answers"), tuple(rows)),) if rows else (),
        notes=("`help` lists every command.",) if registry.get("help") is not None else (),
    )
