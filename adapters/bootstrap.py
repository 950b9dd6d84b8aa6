"""The composition root: the one place settings, storage, the bot and its adapters meet."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.settings import Settings
from bot.catalog import build_registry
from bot.context import BotContext
from bot.router import Router
from metrics_core.config import Config, load_config
from metrics_core.db import Database, make_engine
from metrics_core.risk import RiskModels


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    config: Config
    db: Database
    risk: RiskModels
    router: Router

    def close(self) -> None:
        self.db.close()


def build(settings: Settings | None = None, config: Config | None = None) -> Container:
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    db = Database(make_engine(settings.database_url))
    risk = RiskModels(config)
    context = BotContext(db=db, config=config, registry=build_registry(), risk=risk)
    return Container(settings=settings, config=config, db=db, risk=risk, router=Router(context))
