"""stopline's settings: read once from STOPLINE_* variables (and .env), then passed down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from core.carrier_settings import CarrierSettings
from core.dburl import normalize_database_url


class Settings(CarrierSettings):
    """Every setting stopline reads. Only entry points (CLI, create_app) build one."""

    model_config = SettingsConfigDict(
        env_prefix="STOPLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///./stopline.db"
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    db_busy_timeout_ms: int = 10_000
    rules_path: Path = Path("rules.yml")
    rules_reload_interval: float = 2.0
    default_region: str = "US"
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    log_level: str = "INFO"
    max_webhook_body: int = 64 * 1024
    max_api_body: int = 64 * 1024 * 1024
    header_timeout_seconds: float = Field(default=10.0, gt=0)

    api_token: SecretStr | None = None
    api_token_name: str = "api"
    api_tokens: dict[str, SecretStr] = Field(default_factory=dict)

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("STOPLINE_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("STOPLINE_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("STOPLINE_SLACK_APP_TOKEN", "SLACK_APP_TOKEN")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("STOPLINE_SLACK_API_URL", "SLACK_API_URL"),
    )
    slack_channel: str | None = None
    slack_optin_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_optin_usergroup: str | None = None
    slack_optin_cache_seconds: float = 60.0
    slack_export_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_export_usergroup: str | None = None
    slack_teams: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_export_progress_seconds: float = 15.0

    @field_validator("slack_optin_users", "slack_export_users", "slack_teams", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        # Accept a JSON list or the plain "U01,U02" an operator would type.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # Here, so every command, the server and the migrations see the same, usable URL.
        return normalize_database_url(value)

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        return value.upper()

    def api_token_names(self) -> dict[str, str]:
        """Map each configured API token's secret to its name (the actor recorded in the ledger)."""
        # An empty secret would let "Authorization: Bearer " in: it is never a token.
        tokens = {
            secret.get_secret_value(): name
            for name, secret in self.api_tokens.items()
            if secret.get_secret_value().strip()
        }
        if self.api_token is not None and self.api_token.get_secret_value().strip():
            tokens[self.api_token.get_secret_value()] = self.api_token_name
        return tokens

    @property
    def twilio_configured(self) -> bool:
        """True when the Twilio hook can check signatures."""
        return bool(self.twilio_auth_token and self.twilio_auth_token.get_secret_value())

    @property
    def slack_configured(self) -> bool:
        """True when the Slack bot can serve HTTP requests."""
        return bool(secret_text(self.slack_bot_token) and secret_text(self.slack_signing_secret))

    @property
    def slack_can_post(self) -> bool:
        """True when stopline can post to Slack (channel notices), with or without HTTP mode."""
        return bool(secret_text(self.slack_bot_token))


def secret_text(value: SecretStr | None) -> str:
    """A secret setting's value without surrounding blanks; "" when unset."""
    return value.get_secret_value().strip() if value is not None else ""
