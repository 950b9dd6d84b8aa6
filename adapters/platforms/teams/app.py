"""The Teams endpoint: `POST /api/messages`, authenticated by the Bot Framework's JWT.

botbuilder's `CloudAdapter` validates every activity's token (issuer, audience = our app
id, signature against the Bot Connector's published keys, validity, service URL claim)
before the bot sees it. This module wires it to settings, adds what the adapter leaves to
the application (a tenant allow-list, HTTP answers for bad requests) and builds the bot
and its proactive sender.

Two deliberate choices:

- Authentication runs on a worker thread. botframework-connector fetches the signing keys
  with blocking `requests` calls (no time-out) from inside its coroutine, once a day; on
  the event loop that would stall every other request while the keys download.
- An activity from a tenant not on `CLOSELOOP_TEAMS_TENANTS` gets 403, after its token
  was checked. A genuine Bot Framework request learns nothing it did not know, the Bot
  Framework does not retry a 4xx, and the refusal shows in the service's metrics and the
  Azure Bot's channel health, where an admin who forgot a tenant can see it; a silent 200
  would hide a misconfiguration behind a bot that just never answers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import SimpleNamespace

import requests
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AuthenticateRequestResult,
    AuthenticationConfiguration,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
)

from adapters.platforms.teams.bot import CloseloopBot, tenant_of
from adapters.platforms.teams.sender import Connectors, TeamsSender
from adapters.settings import Settings
from adapters.workers.inflight import InFlight
from bot.router import Router
from metrics_core.store.db import Database

log = logging.getLogger(__name__)


class TeamsSettingsError(ValueError):
    """Teams is configured in a way that would run it unauthenticated or not at all."""


class KeysUnavailable(Exception):
    """The token could not be checked because the signing keys could not be fetched."""


def check_settings(settings: Settings) -> None:
    """Refuse settings that would accept unauthenticated activities by accident.

    An empty app id turns the Bot Framework's authentication off; that is only ever
    wanted against a local emulator, and only when said so with the insecure dev flag.
    """
    app_id = (settings.microsoft_app_id or "").strip()
    if not app_id:
        if settings.teams_insecure_dev:
            log.warning(
                "Teams runs WITHOUT authentication (CLOSELOOP_TEAMS_INSECURE_DEV=1): "
                "anyone who can reach /api/messages can act as any user. Local testing only."
            )
            return
        raise TeamsSettingsError(
            "MICROSOFT_APP_ID is empty, so Teams activities could not be authenticated. "
            "Set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to the Azure Bot's app "
            "registration, or, for local testing with the Bot Framework Emulator only, "
            "set CLOSELOOP_TEAMS_INSECURE_DEV=1."
        )
    if settings.teams_insecure_dev:
        log.warning("CLOSELOOP_TEAMS_INSECURE_DEV is ignored: MICROSOFT_APP_ID is set")
    kind = settings.microsoft_app_type
    if kind != "UserAssignedMSI" and not settings.microsoft_app_password:
        raise TeamsSettingsError(
            f"MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_TYPE={kind}: the bot "
            "needs its client secret to send messages"
        )
    if kind != "MultiTenant" and not settings.microsoft_app_tenant_id:
        raise TeamsSettingsError(f"MICROSOFT_APP_TENANT_ID is required with {kind}")


def authentication(settings: Settings) -> BotFrameworkAuthentication:
    """The Bot Framework authentication for these settings (public cloud by default)."""
    app_id = (settings.microsoft_app_id or "").strip() or None
    password = settings.microsoft_app_password
    credentials = ConfigurationServiceClientCredentialFactory(
        SimpleNamespace(
            APP_ID=app_id,
            APP_PASSWORD=password.get_secret_value() if password else None,
            APP_TYPE=settings.microsoft_app_type,
            APP_TENANTID=settings.microsoft_app_tenant_id,
        )
    )
    configuration = AuthenticationConfiguration(
        tenant_id=settings.microsoft_app_tenant_id
        if settings.microsoft_app_type != "MultiTenant"
        else None
    )
    if settings.teams_openid_metadata_url:
        # The public cloud's constants, except where the channel's signing keys are
        # published; botbuilder's "parameterized" authentication takes them one by one.
        return BotFrameworkAuthenticationFactory.create(
            validate_authority=True,
            to_channel_from_bot_login_url=AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL,
            to_channel_from_bot_oauth_scope=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
            to_bot_from_channel_token_issuer=AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
            oauth_url=AuthenticationConstants.OAUTH_URL,
            to_bot_from_channel_open_id_metadata_url=settings.teams_openid_metadata_url,
            to_bot_from_emulator_open_id_metadata_url=(
                AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
            ),
            caller_id=CallerIdConstants.public_azure_channel,
            credential_factory=credentials,
            auth_configuration=configuration,
        )
    return BotFrameworkAuthenticationFactory.create(
        credential_factory=credentials, auth_configuration=configuration
    )


def _authenticate_blocking(
    auth: BotFrameworkAuthentication, activity: Activity, header: str | None
) -> AuthenticateRequestResult:
    """Validate on this (worker) thread, in a loop of its own: see the module docstring."""
    try:
        return asyncio.run(auth.authenticate_request(activity, header))
    except PermissionError:
        raise
    except (requests.RequestException, OSError) as error:
        raise KeysUnavailable(type(error).__name__) from None
    except Exception as error:  # a malformed token, an unknown key id: not authenticated
        raise PermissionError(f"invalid token ({type(error).__name__})") from None


@dataclass
class TeamsApp:
    """The Teams side of the service: the adapter, its sender, the tenant filter, the bot.

    Built in two steps because the composition root needs the sender (for the
    dispatcher) before the router exists, and the bot needs the router: `connect` adds it.
    """

    adapter: CloudAdapter
    sender: TeamsSender
    app_id: str | None
    budget_seconds: float
    tenants: frozenset[str] = frozenset()
    bot: CloseloopBot | None = None

    def connect(self, router: Router, db: Database, work: InFlight | None = None) -> None:
        self.bot = CloseloopBot(
            router, db, app_id=self.app_id, budget_seconds=self.budget_seconds, work=work
        )

    async def handle(self, request: web.Request) -> web.Response:
        """One activity: checked, authenticated, filtered by tenant, given to the bot."""
        if self.bot is None:
            return web.json_response({"error": "not ready"}, status=503)
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
            activity = Activity().deserialize(body) if isinstance(body, dict) else None
        except Exception:  # not JSON, or not an activity
            activity = None
        if activity is None or not activity.type:
            return web.json_response({"error": "not a Bot Framework activity"}, status=400)
        header = request.headers.get("Authorization")
        auth = self.adapter.bot_framework_authentication
        try:
            result = await asyncio.to_thread(_authenticate_blocking, auth, activity, header)
        except PermissionError as error:
            log.info("Teams activity refused (401): %s", error)
            return web.json_response({"error": "unauthorized"}, status=401)
        except KeysUnavailable as error:
            log.warning("Teams activity not checked, signing keys unavailable: %s", error)
            return web.json_response({"error": "cannot verify the token now"}, status=503)
        if self.tenants:
            tenant = tenant_of(activity)
            if tenant not in self.tenants:
                log.warning(
                    "Teams activity from tenant %s refused (403): not in CLOSELOOP_TEAMS_TENANTS",
                    tenant,
                )
                return web.json_response({"error": "tenant not allowed"}, status=403)
        invoke = await self.adapter.process_activity(result, activity, self.bot.on_turn)
        if invoke is None:
            return web.Response(status=200)
        return web.json_response(invoke.body, status=int(invoke.status))

    async def close(self) -> None:
        """Send the answers still being prepared (for a while) before the service stops."""
        if self.bot is not None:
            await self.bot.drain()


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """A turn that failed (e.g. the connector unreachable): logged, never shown raw."""
    log.error(
        "Teams turn failed (%s activity): %s",
        turn_context.activity.type,
        type(error).__name__,
        exc_info=error,
    )


def build_teams(settings: Settings, db: Database) -> TeamsApp:
    """The Teams app for these settings; raises TeamsSettingsError for unsafe ones."""
    check_settings(settings)
    auth = authentication(settings)
    adapter = CloudAdapter(auth)
    adapter.on_turn_error = _on_turn_error
    app_id = (settings.microsoft_app_id or "").strip() or None
    return TeamsApp(
        adapter=adapter,
        sender=TeamsSender(db, Connectors(auth, app_id)),
        app_id=app_id,
        budget_seconds=settings.teams_reply_budget_seconds,
        tenants=settings.teams_tenant_ids,
    )
