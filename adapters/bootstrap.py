"""The composition root: the one place settings, storage, the bot and its adapters meet.

Every entrypoint builds what it runs here: the service (`build`), the commands that need
the bot but no chat platform (`build_console`, for `closeloop ask`), and the commands that
need only storage and the churn model (`build_core`, for `snapshot` and `model evaluate`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import SecretStr

from adapters.platforms.slack.app import build_slack_app, web_client
from adapters.platforms.slack.responses import ResponseUrls
from adapters.platforms.slack.sender import SlackSender
from adapters.platforms.slack.serving import SlackApp
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
from metrics_core.churn.daily_model import RiskModels
from metrics_core.clock import Clock, utc_now
from metrics_core.config import Config, load_config
from metrics_core.delivery.targets import Platform, Target
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Database, make_engine


@dataclass(frozen=True, slots=True)
class Core:
    """What every command needs, and no chat platform: storage, the churn model, the clock."""

    settings: Settings
    config: Config
    db: Database
    risk: RiskModels
    alerts_fallback: Target | None
    """Where alerts no routing rule sends elsewhere go (`CLOSELOOP_SLACK_ALERTS_CHANNEL`)."""
    clock: Clock = utc_now

    def close(self) -> None:
        self.risk.close()
        self.db.close()


@dataclass(frozen=True, slots=True)
class Console:
    """The bot without a chat platform: what `closeloop ask` answers with."""

    core: Core
    router: Router

    def close(self) -> None:
        self.core.close()


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
    slack: SlackApp | None = None
    slack_responses: ResponseUrls | None = None
    """Where Slack answers go out; its connections are closed when the service stops."""
    teams: TeamsApp | None = None
    work: InFlight = field(default_factory=InFlight)
    """Answers still being prepared after their request was acknowledged (Slack listeners,
    late Teams answers): a shutdown lets them finish."""
    alerts_fallback: Target | None = None
    """Where alerts no routing rule sends elsewhere go (`CLOSELOOP_SLACK_ALERTS_CHANNEL`)."""
    clock: Clock = utc_now
    """The service's "now": webhooks, the SLA round and the day the churn model is for."""

    def close(self) -> None:
        self.risk.close()
        self.db.close()


def alerts_fallback(settings: Settings) -> Target | None:
    """The operator's fallback alerts target, from the settings: a Slack channel, or none."""
    channel = settings.slack_alerts_channel
    return Target(Platform.SLACK, channel) if channel else None


def build_core(
    settings: Settings | None = None, config: Config | None = None, *, clock: Clock = utc_now
) -> Core:
    """Storage, the churn model and the alert fallback, for commands without a chat platform.

    `clock` is the one "now" of everything built on this core (tests move it).
    """
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    return Core(
        settings=settings,
        config=config,
        db=Database(make_engine(settings.database_url)),
        risk=RiskModels(config),
        alerts_fallback=alerts_fallback(settings),
        clock=clock,
    )


def _context(core: Core, **hooks: Callable[[], None]) -> BotContext:
    clock = core.clock
    return BotContext(
        db=core.db,
        config=core.config,
        registry=build_registry(),
        risk=core.risk,
        health=HealthCache(core.config),
        now=clock,
        today=lambda: clock().date(),
        **hooks,
    )


def build_console(
    settings: Settings | None = None, config: Config | None = None, *, clock: Clock = utc_now
) -> Console:
    """The bot on the database and nothing else: no chat platform, no background work.

    Messages it owes (a claim's alert edits) wait in the outbox for the service.
    """
    core = build_core(settings, config, clock=clock)
    return Console(core=core, router=Router(_context(core)))


def build(
    settings: Settings | None = None, config: Config | None = None, *, clock: Clock = utc_now
) -> Container:
    """The service: the core, the bot, the chat platforms configured, and the workers."""
    core = build_core(settings, config, clock=clock)
    settings, config, db, risk, clock = core.settings, core.config, core.db, core.risk, core.clock
    senders: dict[str, Sender] = {}
    client = None
    if settings.slack_bot_token is not None:
        client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
        senders[Platform.SLACK] = SlackSender(client)
    teams = build_teams(settings, db) if settings.teams_enabled else None
    if teams is not None:
        senders[Platform.TEAMS] = teams.sender
    dispatcher = Dispatcher(
        db,
        config,
        senders,
        clock=clock,
        lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
    )
    subscriptions_changed = asyncio.Event()
    context = _context(
        core, outbox_changed=dispatcher.wake, schedule_changed=subscriptions_changed.set
    )
    registry = context.registry
    scheduler = DigestScheduler(
        context,
        db,
        leadership_for(db.engine),
        risk,
        clock=clock,
        sweep_seconds=settings.leader_check_seconds,
        fallback=core.alerts_fallback,
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
        alerts_fallback=core.alerts_fallback,
        clock=clock,
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
