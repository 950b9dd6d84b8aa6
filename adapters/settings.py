"""Service settings, read from the environment (and a `.env` file) by pydantic-settings.

Secrets, as they arrive, are `SecretStr` so that a settings object printed in a log or a
traceback shows `**********` instead of the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What each Slack mode needs, said the same way wherever a Slack setting is refused.
_FIX_BOT = (
    "set it to the Bot User OAuth Token (xoxb-..., OAuth & Permissions), which Slack over "
    "HTTP and Socket Mode both need, or remove every SLACK_ setting to run without Slack"
)
_FIX_SIGNING = (
    "set it to the app's Signing Secret (Basic Information, App Credentials) for Slack "
    "over HTTP, or remove it for Socket Mode"
)
_FIX_APP = (
    "for Socket Mode set an app-level token with the connections:write scope (xapp-..., "
    "Basic Information, App-Level Tokens), or remove it for Slack over HTTP"
)
_MODES = (
    "Slack over HTTP needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; Socket Mode needs "
    "SLACK_BOT_TOKEN and SLACK_APP_TOKEN (README: Connecting Slack)"
)


class Settings(BaseSettings):
    """Everything the operator can set; names match the README's environment table."""

    # `hide_input_in_errors`: a refused setting's error must not print what was given, which
    # for a model-wide check is every setting, secrets and the database URL included.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    database_url: str = Field(default="sqlite:///./closeloop.db", validation_alias="DATABASE_URL")
    config_path: Path | None = Field(default=None, validation_alias="CLOSELOOP_CONFIG")
    host: str = Field(default="127.0.0.1", validation_alias="CLOSELOOP_HOST")
    port: int = Field(default=3000, validation_alias="CLOSELOOP_PORT")
    log_level: str = Field(default="INFO", validation_alias="CLOSELOOP_LOG_LEVEL")
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", validation_alias="CLOSELOOP_LOG_FORMAT"
    )
    """How `serve` logs: JSON lines for collectors, text for people; `auto` is text at a
    terminal and JSON otherwise (a container, a service manager)."""

    def secret_values(self) -> list[str]:
        """Every configured secret's value, for the log redactor; never logged itself."""
        secrets = [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]
        password = urlsplit(self.database_url).password
        return [*secrets, password] if password else secrets

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_alerts_channel: str | None = Field(
        default=None, validation_alias="CLOSELOOP_SLACK_ALERTS_CHANNEL"
    )
    """The fallback alerts target (`bootstrap.alerts_fallback`): where alerts go that no
    routing rule of `closeloop.toml` sends elsewhere."""

    microsoft_app_id: str | None = Field(default=None, validation_alias="MICROSOFT_APP_ID")
    microsoft_app_password: SecretStr | None = Field(
        default=None, validation_alias="MICROSOFT_APP_PASSWORD"
    )
    microsoft_app_tenant_id: str | None = Field(
        default=None, validation_alias="MICROSOFT_APP_TENANT_ID"
    )
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        default="MultiTenant", validation_alias="MICROSOFT_APP_TYPE"
    )
    teams_insecure_dev: bool = Field(default=False, validation_alias="CLOSELOOP_TEAMS_INSECURE_DEV")
    """Accept Teams activities without a token (the local emulator); never implied."""
    teams_tenants: str | None = Field(default=None, validation_alias="CLOSELOOP_TEAMS_TENANTS")
    """Comma-separated tenant ids whose activities are served; empty: every tenant."""
    teams_reply_budget_seconds: float = Field(
        default=10.0, gt=0, validation_alias="CLOSELOOP_TEAMS_REPLY_BUDGET_SECONDS"
    )
    """How long a Teams turn waits for an answer before saying "working on it" (Teams
    gives a bot 15 seconds) and sending the answer when it is ready."""
    teams_openid_metadata_url: str | None = Field(
        default=None, validation_alias="CLOSELOOP_TEAMS_OPENID_METADATA_URL"
    )
    """Where the Bot Connector's token signing keys are published; Microsoft's own by
    default. For private clouds, proxies and tests."""

    outbox_lease_seconds: float = Field(
        default=60.0, gt=0, validation_alias="CLOSELOOP_OUTBOX_LEASE_SECONDS"
    )
    """How long a dispatcher holds a message it is sending; a crashed one's messages wait
    this long before another process sends them."""
    leader_check_seconds: float = Field(
        default=60.0, gt=0, validation_alias="CLOSELOOP_LEADER_CHECK_SECONDS"
    )
    """How often each replica asks whether it runs the digest scheduler (and the leader
    sweeps for digests it missed): a replica takes over within about this long after the
    leader dies. Each ask is one cheap query; shorter is faster failover."""
    shutdown_seconds: float = Field(
        default=20.0, gt=0, validation_alias="CLOSELOOP_SHUTDOWN_SECONDS"
    )
    """How long `serve` lets answers and alerts already under way finish after SIGTERM or
    SIGINT. Below the orchestrator's grace period before SIGKILL (Kubernetes: 30 s)."""

    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="CLOSELOOP_WEBHOOK_SECRET"
    )
    """The `generic` survey webhook's secret. With the playground on and none set, the
    service makes a random one of its own at start, so the playground's simulated answers
    can go through the webhook."""
    delighted_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="DELIGHTED_WEBHOOK_SECRET"
    )
    typeform_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TYPEFORM_WEBHOOK_SECRET"
    )
    wootric_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="WOOTRIC_WEBHOOK_SECRET"
    )
    ingest_token: SecretStr | None = Field(default=None, validation_alias="CLOSELOOP_INGEST_TOKEN")
    """The bearer token of `POST /ingest/usage`; unset or blank, the route does not exist."""

    playground: bool = Field(default=False, validation_alias="CLOSELOOP_PLAYGROUND")
    """Serve the playground (`GET /`, `/playground/...`): the bot in a browser page, with no
    login, so anyone who reaches it can act as anyone on the CS team. `closeloop demo`
    switches it on."""
    playground_allow_remote: bool = Field(
        default=False, validation_alias="CLOSELOOP_PLAYGROUND_ALLOW_REMOTE"
    )
    """Let the playground be served on an address other than loopback; without it the
    service refuses to start so."""

    @field_validator("microsoft_app_type", mode="before")
    @classmethod
    def _app_type(cls, value: object) -> object:
        """Azure shows the type as `MultiTenant`; botbuilder's samples write it lowercase."""
        kinds = {"multitenant": "MultiTenant", "singletenant": "SingleTenant"}
        kinds["userassignedmsi"] = "UserAssignedMSI"
        return kinds.get(value.strip().lower(), value) if isinstance(value, str) else value

    @property
    def teams_enabled(self) -> bool:
        """Teams is on when the operator configured it: Microsoft credentials or the insecure
        dev flag.

        `MICROSOFT_APP_ID` present but empty (or a password without an app id) counts as
        configured and is refused when the service is built, so a deployment template with
        a missing value never runs unauthenticated, nor silently without Teams.
        """
        return (
            self.microsoft_app_id is not None
            or self.microsoft_app_password is not None
            or self.teams_insecure_dev
        )

    @property
    def teams_tenant_ids(self) -> frozenset[str]:
        return frozenset(t.strip() for t in (self.teams_tenants or "").split(",") if t.strip())

    @model_validator(mode="after")
    def _slack_modes(self) -> Settings:
        """Refuse Slack settings that would half work, naming what each mode needs.

        A blank secret is refused rather than taken as "off": a signature keyed with "" is
        one anyone can compute, and a deployment template with a missing value must not
        start as if it were configured. Messages name the settings, never their values.
        """
        problems = [
            f"{name} is set but empty: {remedy}"
            for name, value, remedy in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token, _FIX_BOT),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret, _FIX_SIGNING),
                ("SLACK_APP_TOKEN", self.slack_app_token, _FIX_APP),
            )
            if value is not None and not value.get_secret_value().strip()
        ]
        app_token = self.slack_app_token.get_secret_value().strip() if self.slack_app_token else ""
        if app_token and not app_token.startswith("xapp-"):
            problems.append(f"SLACK_APP_TOKEN is not an app-level token: {_FIX_APP}")
        if self.slack_bot_token is None:
            for name, value in (
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
                ("SLACK_APP_TOKEN", self.slack_app_token),
            ):
                if value is not None and value.get_secret_value().strip():
                    problems.append(f"{name} is set without SLACK_BOT_TOKEN: {_MODES}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def slack_over_http(self) -> bool:
        """Slack over HTTP: `POST /slack/events` exists, and every request on it must carry
        Slack's signature made with this signing secret."""
        return self.slack_bot_token is not None and self.slack_signing_secret is not None

    @property
    def slack_socket_mode(self) -> bool:
        """Socket Mode: the service connects out to Slack with the app token; nothing of
        Slack is served over HTTP unless a signing secret is set too."""
        return self.slack_bot_token is not None and self.slack_app_token is not None

    @property
    def slack_enabled(self) -> bool:
        """Slack commands, buttons and events arrive one way or the other (or both)."""
        return self.slack_over_http or self.slack_socket_mode
