"""Service settings, read from the environment (and a `.env` file) by pydantic-settings.

Secrets, as they arrive, are `SecretStr` so that a settings object printed in a log or a
traceback shows `**********` instead of the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the operator can set; names match the README's environment table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default="sqlite:///./closeloop.db", validation_alias="DATABASE_URL")
    config_path: Path | None = Field(default=None, validation_alias="CLOSELOOP_CONFIG")
    host: str = Field(default="127.0.0.1", validation_alias="CLOSELOOP_HOST")
    port: int = Field(default=3000, validation_alias="CLOSELOOP_PORT")
    log_level: str = Field(default="INFO", validation_alias="CLOSELOOP_LOG_LEVEL")

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_alerts_channel: str | None = Field(
        default=None, validation_alias="CLOSELOOP_SLACK_ALERTS_CHANNEL"
    )

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

    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="CLOSELOOP_WEBHOOK_SECRET"
    )
    delighted_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="DELIGHTED_WEBHOOK_SECRET"
    )
    typeform_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TYPEFORM_WEBHOOK_SECRET"
    )
    wootric_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="WOOTRIC_WEBHOOK_SECRET"
    )

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

    @property
    def slack_enabled(self) -> bool:
        """Slack over HTTP needs both secrets; Socket Mode needs the bot and app tokens."""
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )
