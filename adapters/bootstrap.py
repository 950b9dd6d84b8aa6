"""The composition root: the one place settings, storage, the bot and its adapters meet."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from adapters.settings import Settings
from adapters.slack.app import build_slack_app, web_client
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
    slack: AsyncApp | None = None

    def close(self) -> None:
        self.db.close()


def build(settings: Settings | None = None, config: Config | None = None) -> Container:
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    db = Database(make_engine(settings.database_url))
    risk = RiskModels(config)
    registry = build_registry()
    context = BotContext(db=db, config=config, registry=registry, risk=risk)
    router = Router(context)
    slack = None
    if settings.slack_enabled and settings.slack_bot_token is not None:
        slack = build_slack_app(
            router,
            context,
            registry,
            client=web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url),
            signing_secret=(
                settings.slack_signing_secret.get_secret_value()
                if settings.slack_signing_secret
                else None
            ),
        )
    return Container(settings=settings, config=config, db=db, risk=risk, router=router, slack=slack)
