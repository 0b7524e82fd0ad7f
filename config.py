"""Settings, read once from the environment (and `.env`), typed."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / '.data' / 'caseflow.db'}"
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
    # Temporal payload encryption (payload_codec.py): "k2:<base64 of 32 bytes>,k1:<base64>",
    # the first encrypts, all decrypt. Development without it uses (and makes) the key file.
    payload_keys: SecretStr = SecretStr("")
    payload_key_file: Path = ROOT / ".data" / "payload-key"
    # Keys the hash that stands for an Idempotency-Key in Temporal (api/references.py);
    # unset, one is derived from the current payload key. Set it before rotating those.
    reference_key: SecretStr = SecretStr("")
    # Browser origins allowed to call the codec endpoints (/codec/decode): the Temporal UI's.
    codec_cors_origins: list[str] = ["http://localhost:8233", "http://127.0.0.1:8233"]

    # Requests with a larger body are refused (413) before it is read or the token checked.
    max_body_bytes: int = 64 * 1024

    @model_validator(mode="after")
    def _production_is_configured(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production needs DATABASE_URL pointing at PostgreSQL")
        if self.environment == "production" and not self.payload_keys.get_secret_value():
            raise ValueError("production needs PAYLOAD_KEYS ('id:<base64 of 32 random bytes>'):"
                             " without it Temporal would keep case data unencrypted")
        return self


@cache
def get_settings() -> Settings:
    return Settings()
