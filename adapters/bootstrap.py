"""The composition root: the one place settings, storage, the bot and its adapters meet."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp

from adapters.platforms.slack.app import build_slack_app, web_client
from adapters.platforms.slack.responses import ResponseUrls
from adapters.platforms.slack.sender import SlackSender
from adapters.platforms.teams.app import TeamsApp, build_teams
from adapters.platforms.webhooks import WebhookSecrets
from adapters.settings import Settings
from adapters.workers.dispatch import Dispatcher, Sender
from adapters.workers.inflight import InFlight
from adapters.workers.leader import leadership_for
from adapters.workers.scheduler import DigestScheduler
from bot.catalog import build_registry
from bot.context import BotContext
from bot.router import Router
from metrics_core.churn.risk import RiskModels
from metrics_core.config import Config, load_config
from metrics_core.delivery.routing import SLACK, TEAMS
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Database, make_engine


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    config: Config
    db: Database
    risk: RiskModels
    router: Router
    dispatcher: Dispatcher
    webhook_secrets: WebhookSecrets
    scheduler: DigestScheduler
    slack: AsyncApp | None = None
    slack_responses: ResponseUrls | None = None
    """Where Slack answers go out; its connections are closed when the service stops."""
    teams: TeamsApp | None = None
    work: InFlight = field(default_factory=InFlight)
    """Answers still being prepared after their request was acknowledged (Slack listeners,
    late Teams answers): a shutdown lets them finish."""

    def close(self) -> None:
        self.db.close()


def build(settings: Settings | None = None, config: Config | None = None) -> Container:
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    db = Database(make_engine(settings.database_url))
    risk = RiskModels(config)
    registry = build_registry()
    senders: dict[str, Sender] = {}
    client = None
    if settings.slack_bot_token is not None:
        client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
        senders[SLACK] = SlackSender(client)
    teams = build_teams(settings, db) if settings.teams_enabled else None
    if teams is not None:
        senders[TEAMS] = teams.sender
    dispatcher = Dispatcher(
        db, config, senders, lease=dt.timedelta(seconds=settings.outbox_lease_seconds)
    )
    subscriptions_changed = asyncio.Event()
    context = BotContext(
        db=db,
        config=config,
        registry=registry,
        risk=risk,
        health=HealthCache(config),
        outbox_changed=dispatcher.wake,
        schedule_changed=subscriptions_changed.set,
    )
    scheduler = DigestScheduler(
        context,
        db,
        leadership_for(db.engine),
        risk,
        default_slack_channel=settings.slack_alerts_channel,
        changed=subscriptions_changed,
    )
    router = Router(context)
    work = InFlight()
    if teams is not None:
        teams.connect(router, db, work)
    slack = None
    responses = None
    if settings.slack_enabled and client is not None:
        responses = ResponseUrls(settings.slack_api_url)
        slack = build_slack_app(
            router,
            context,
            registry,
            client=client,
            signing_secret=_secret(settings.slack_signing_secret),
            responses=responses,
            work=work,
        )
    return Container(
        settings=settings,
        config=config,
        db=db,
        risk=risk,
        router=router,
        dispatcher=dispatcher,
        scheduler=scheduler,
        webhook_secrets=webhook_secrets(settings),
        slack=slack,
        slack_responses=responses,
        teams=teams,
        work=work,
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def webhook_secrets(settings: Settings) -> WebhookSecrets:
    return WebhookSecrets(
        generic=_secret(settings.webhook_secret),
        delighted=_secret(settings.delighted_webhook_secret),
        typeform=_secret(settings.typeform_webhook_secret),
        wootric=_secret(settings.wootric_webhook_secret),
    )
