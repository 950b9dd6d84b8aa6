"""Service settings, read from the environment (and a `.env` file) by pydantic-settings.

Secrets, as they arrive, are `SecretStr` so that a settings object printed in a log or a
traceback shows `**********` instead of the value.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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

    @property
    def slack_enabled(self) -> bool:
        """Slack over HTTP needs both secrets; Socket Mode needs the bot and app tokens."""
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )
