"""Settings, read from the environment (prefix ACCORD_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting Accord reads. Each one is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="ACCORD_", env_file=".env", extra="ignore")

    #: SQLAlchemy URL. SQLite file under ./var by default; PostgreSQL with
    #: postgresql+psycopg://user@host:5432/db
    database_url: str = "sqlite:///var/accord.db"
    #: Where each tenant's Ed25519 checkpoint signing key lives (never in the database).
    key_dir: Path = Path("var/keys")
    #: Signs session cookies. When empty, one is generated once into <key_dir>/session.secret.
    secret_key: str = ""
    #: Prefix of every log's origin line in checkpoints: "<prefix>/<tenant slug>".
    log_origin: str = "accord.local"
    #: Seconds a login session lasts.
    session_max_age: int = 8 * 3600
    #: argon2 parameter profile for password hashes (argon2.profiles): RFC_9106_LOW_MEMORY
    #: in production; the test suite uses CHEAPEST so it runs in minutes.
    argon2_profile: Literal["RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST"] = (
        "RFC_9106_LOW_MEMORY"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
