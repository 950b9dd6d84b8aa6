"""`help`, the answer to a command nobody registered, and the welcome on install."""

from __future__ import annotations

import difflib

from bot.commands import Command, CommandRegistry
from bot.context import BotContext
from bot.formatting import echoed
from bot.inbound import CommandRequest
from bot.reply import Outcome, Reply, Table

HELP = "help"
WHAT_IT_DOES = "Customer-success answers from your CRM, product, help-desk and survey data."

# What a newcomer is most likely to want first, in that order. They are written out rather
# than taken from each command's usage line because a usage line shows syntax
# (`health <account>`), and a first example should be something one can type as it is.
WELCOME_EXAMPLES = ("health acme", "churn top", "followups mine", "digest subscribe daily 09:00")


def command_table(registry: CommandRegistry) -> Table:
    """Each command's short form and what it answers: the `help` list."""
    return Table(
        columns=("Command", "What it answers"),
        rows=tuple((command.brief or command.usage, command.summary) for command in registry),
    )


MORE = f"`{HELP} <command>` shows a command's full syntax, e.g. `{HELP} digest`."
SYNTAX = "<…> is required, […] optional, and | separates choices."


def usage_forms(command: Command) -> tuple[str, ...]:
    """The usage's alternatives, each a line of its own that starts with the command.

    `churn <account> | churn top [N]` has two; a `|` inside brackets is a choice within
    one form (`nps [account | segment]`).
    """
    forms: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(command.usage + "|"):
        if char in "[<(":
            depth += 1
        elif char in "]>)":
            depth = max(depth - 1, 0)
        elif char == "|" and depth == 0:
            form = command.usage[start:i].strip()
            if form:
                named = form == command.name or form.startswith(command.name + " ")
                forms.append(form if named else f"{command.name} {form}")
            start = i + 1
    return tuple(forms)


def command_help(command: Command) -> Reply:
    """One command: what it answers and every form of it."""
    return Reply(
        heading=f"{command.name}: {command.summary}",
        tables=(Table(("Usage",), tuple((form,) for form in usage_forms(command))),),
        notes=(SYNTAX,),
    )


async def help_command(request: CommandRequest, context: BotContext) -> Reply:
    if request.args:
        name = request.args.split()[0].lstrip("/").lower()
        command = context.registry.get(name)
        return unknown_command(name, context.registry) if command is None else command_help(command)
    return Reply(
        heading="Closeloop commands",
        paragraphs=(WHAT_IT_DOES,),
        tables=(command_table(context.registry),),
        notes=(MORE,),
    )


def unknown_command(name: str, registry: CommandRegistry) -> Reply:
    close = difflib.get_close_matches(name, registry.names(), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return Reply(
        heading=f"I don't know the command `{echoed(name)}`",
        paragraphs=(f"Here is what I can answer.{hint}",),
        tables=(command_table(registry),),
        notes=(MORE,),
        outcome=Outcome.PROBLEM,
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
