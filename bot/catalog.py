"""The commands Closeloop knows, registered in the order `help` lists them."""

from __future__ import annotations

from bot.commands import Command, CommandRegistry
from bot.handlers.health import USAGE as HEALTH_USAGE
from bot.handlers.health import health_command
from bot.handlers.help import help_command


def build_registry() -> CommandRegistry:
    registry = CommandRegistry()
    registry.register(
        Command(
            name="health",
            usage=HEALTH_USAGE,
            summary="An account's health score (0–100), its band and what drives it",
            handler=health_command,
        )
    )
    registry.register(Command(name="help", usage="help", summary="This list", handler=help_command))
    return registry
