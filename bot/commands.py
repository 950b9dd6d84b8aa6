"""The command registry: one list of commands that drives help, routing and manifests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.inbound import CommandRequest
from bot.reply import Reply

if TYPE_CHECKING:
    from bot.context import BotContext

Handler = Callable[[CommandRequest, "BotContext"], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str
    summary: str
    handler: Handler
    needs_timezone: bool = False
    """The handler uses the asker's time zone: adapters that must ask for it do so."""
    read_only: bool = True
    """Answers only; False for commands that change things (a subscription), whose answers
    get no Refresh or Share button, since re-running them would act again."""
    brief: str = ""
    """The usage shortened for the `help` list, which must read at 100 columns; empty when
    the usage is short already. `help <name>` shows the whole usage."""
    shared_answer: Callable[[str], bool] | None = None
    """Whether the answer to these words depends on nothing but them, the day and the stored
    data (not on who asks, their time zone or the clock): such answers are kept in memory
    and reused until the database changes (`bot.answers`). None: never reused."""


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def register(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command {command.name!r} is registered twice")
        self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def names(self) -> list[str]:
        return list(self._commands)
