"""What arrives from a chat platform, once its adapter has translated it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Platform(enum.StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"
    WEB = "web"


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
