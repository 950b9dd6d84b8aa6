"""What arrives from a chat platform, once its adapter has translated it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.reply import Visibility
from metrics_core.delivery.targets import Platform

__all__ = ["ActionRequest", "Actor", "CommandRequest", "Platform"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked: the platform and that platform's user id (resolved to a team member later)."""

    platform: Platform
    user_id: str | None = None
    display_name: str | None = None
    timezone: str | None = None
    """The user's IANA time zone as their platform knows it, when the adapter looked it up."""


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command with its argument text, e.g. `health` with `acme` from `/health acme`."""

    command: str
    args: str
    actor: Actor
    conversation: str | None = None
    """Where it was asked, as the platform addresses it (a Slack channel, a Teams chat)."""

    @classmethod
    def parse(cls, text: str, actor: Actor, conversation: str | None = None) -> CommandRequest:
        """Split free text (`health acme`, `/health acme`) into command and arguments.

        The command is the first word whatever white space follows it: a tab, or the line
        break of a chat message written over two lines, separates it as a space does.
        """
        command, *rest = text.strip().lstrip("/").split(maxsplit=1) or [""]
        args = rest[0].strip() if rest else ""
        return cls(command=command.lower(), args=args, actor=actor, conversation=conversation)


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """A button press: the action id (without any per-message suffix) and its payload."""

    action_id: str
    payload: dict[str, str]
    actor: Actor
    conversation: str | None = None
    clicked_on: Visibility | None = None
    """Who sees the message the button is on, when the platform says: the clicker alone (a
    Slack ephemeral answer) or the whole conversation (an alert, a digest, a shared
    answer). None when it cannot tell (a Teams card). The click protocol (`bot.clicks`)
    decides from it whether an answer may replace that message."""
