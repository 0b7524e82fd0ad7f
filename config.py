"""Settings, read once from the environment (and `.env`), typed."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / '.data' / 'caseflow.db'}"
    # The role that owns the schema and runs migrations (and the retention purge); the app
    # connects with DATABASE_URL as APP_DATABASE_ROLE, which may only append to the audit
    # trail. Unset: DATABASE_URL for both, and no grants (SQLite, a development database).
    migration_database_url: str | None = None
    app_database_role: str | None = None
    protocols_dir: Path = ROOT / "protocols"
    # Where organisations outside the council (another authority, CAFCASS) are emailed.
    external_addresses_file: Path = ROOT / "external-addresses.yaml"

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "case-transfers"
    temporal_retention_days: int = 30

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "case-transfers@council.example"
    # Requests with a larger body are refused (413) before it is read or the token checked.
    max_body_bytes: int = 64 * 1024

    # The retention schedule (ops/retention), in days. Notes and email bodies are counted
    # from the day the transfer closed (or ended); start keys from the day they were sent,
    # as they only guard retries of a start.
    retention_notes_days: int = Field(default=6 * 365, ge=1)
    retention_emails_days: int = Field(default=2 * 365, ge=1)
    retention_start_keys_days: int = Field(default=90, ge=1)

    @property
    def owner_database_url(self) -> str:
        """Where migrations and the retention purge connect: the schema's owner."""
        return self.migration_database_url or self.database_url

    @model_validator(mode="after")
    def _production_is_configured(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production needs DATABASE_URL pointing at PostgreSQL")
        return self


@cache
def get_settings() -> Settings:
    return Settings()
