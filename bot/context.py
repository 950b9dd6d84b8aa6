"""What command handlers may use: the database, the clock and the command list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.commands import CommandRegistry
from metrics_core.db import Database


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class BotContext:
    db: Database
    registry: CommandRegistry
    today: Callable[[], dt.date] = utc_today
