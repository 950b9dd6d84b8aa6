"""The composition root: the one place settings, storage, the bot and its adapters meet.

Every entrypoint builds what it runs here: the service (`build`), the commands that need
the bot but no chat platform (`build_console`, for `closeloop ask`), and the commands that
need only storage and the churn model (`build_core`, for `snapshot` and `model evaluate`).
The service's web playground is built here too, on the service's own router.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pydantic import SecretStr

from adapters.observability.telemetry import Telemetry
from adapters.platforms.ingest.usage import UsageIngest
from adapters.platforms.slack.app import build_slack_app, web_client
from adapters.platforms.slack.responses import ResponseUrls
from adapters.platforms.slack.sender import SlackSender
from adapters.platforms.slack.serving import SlackApp
from adapters.platforms.teams.app import TeamsApp, build_teams
from adapters.platforms.web.app import Playground
from adapters.platforms.webhooks import WebhookSecrets
from adapters.platforms.webhooks.generic import new_secret, signed_headers
from adapters.settings import Settings
from adapters.workers.dispatch import Dispatcher, Sender
from adapters.workers.inflight import InFlight
from adapters.workers.leader import leadership_for
from adapters.workers.playbooks import PlaybookSweeps
from adapters.workers.scheduler import DigestScheduler
from bot.answers import AnswerCache
from bot.catalog import build_registry
from bot.context import BotContext
from bot.reply import Outcome
from bot.router import Router
from metrics_core.churn.daily_model import RiskModels
from metrics_core.clock import Clock, utc_now
from metrics_core.config import Config, load_config
from metrics_core.delivery.targets import Platform, Target
from metrics_core.health.cache import HealthCache
from metrics_core.playbooks.starter import with_starter_playbooks
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
    telemetry: Telemetry = field(default_factory=Telemetry)
    """The Prometheus instruments the HTTP routes, the router and the workers report to."""
    playground: Playground | None = None
    """The web playground, when switched on (`CLOSELOOP_PLAYGROUND`, `closeloop demo`)."""
    usage_ingest: UsageIngest | None = None
    """`POST /ingest/usage`, when `CLOSELOOP_INGEST_TOKEN` is set."""

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


def _context(
    core: Core,
    *,
    answered: Callable[[str, Outcome, float], None] | None = None,
    outbox_changed: Callable[[], None] | None = None,
    schedule_changed: Callable[[], None] | None = None,
) -> BotContext:
    clock = core.clock
    context = BotContext(
        db=core.db,
        config=core.config,
        registry=build_registry(),
        risk=core.risk,
        health=HealthCache(core.config),
        answers=AnswerCache(core.db.changes),
        now=clock,
        today=lambda: clock().date(),
    )
    # The hooks a service gives; the console's context keeps BotContext's do-nothing ones.
    if answered is not None:
        context = replace(context, answered=answered)
    if outbox_changed is not None:
        context = replace(context, outbox_changed=outbox_changed)
    if schedule_changed is not None:
        context = replace(context, schedule_changed=schedule_changed)
    return context


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
    """The service: the core, the bot, the chat platforms configured, and the workers.

    With the playground on (`closeloop demo`, `CLOSELOOP_PLAYGROUND=1`) a configuration that
    names no playbook runs the starter playbooks, so there is something to try; anywhere
    else it runs none.
    """
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    if settings.playground:
        config = with_starter_playbooks(config)
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
    telemetry = Telemetry()
    dispatcher = Dispatcher(
        db,
        config,
        senders,
        clock=clock,
        lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
        telemetry=telemetry,
    )
    subscriptions_changed = asyncio.Event()
    context = _context(
        core,
        answered=lambda command, outcome, seconds: telemetry.command_answered(
            command, outcome.value, seconds
        ),
        outbox_changed=dispatcher.wake,
        schedule_changed=subscriptions_changed.set,
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
        telemetry=telemetry,
        playbooks=PlaybookSweeps(
            db,
            config,
            clock=clock,
            fallback=core.alerts_fallback,
            outbox_changed=dispatcher.wake,
        ),
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
    secrets = webhook_secrets(settings)
    playground = None
    if settings.playground:
        secret = secrets.for_provider("generic")
        if secret is None:
            # The playground's simulated answers go through the generic webhook: without an
            # operator's secret it gets one of its own, known to this process only.
            secret = new_secret()
            secrets = replace(secrets, generic=secret)
        playground = Playground(
            router=router,
            db=db,
            config=config,
            clock=clock,
            sign=_signer(secret),
            allow_remote=settings.playground_allow_remote,
        )
    return Container(
        settings=settings,
        config=config,
        db=db,
        risk=risk,
        router=router,
        dispatcher=dispatcher,
        scheduler=scheduler,
        webhook_secrets=secrets,
        usage_ingest=usage_ingest(settings, db, clock),
        slack=slack,
        slack_responses=responses,
        teams=teams,
        work=work,
        alerts_fallback=core.alerts_fallback,
        clock=clock,
        telemetry=telemetry,
        playground=playground,
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _signer(secret: str) -> Callable[[bytes, str, int], dict[str, str]]:
    """How the playground signs its simulated answers: as a sender of the generic webhook."""

    def sign(body: bytes, message_id: str, timestamp: int) -> dict[str, str]:
        return signed_headers(secret, body, message_id=message_id, timestamp=timestamp)

    return sign


def webhook_secrets(settings: Settings) -> WebhookSecrets:
    return WebhookSecrets(
        generic=_secret(settings.webhook_secret),
        delighted=_secret(settings.delighted_webhook_secret),
        typeform=_secret(settings.typeform_webhook_secret),
        wootric=_secret(settings.wootric_webhook_secret),
    )


def usage_ingest(settings: Settings, db: Database, clock: Clock) -> UsageIngest | None:
    """The usage events route's state, or None (no route) without a token or with a blank one."""
    token = _secret(settings.ingest_token)
    return UsageIngest(token, db, clock) if token is not None and token.strip() else None
