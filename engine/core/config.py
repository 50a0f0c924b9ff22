"""Configuration: environment first, then the instance folder; secrets are generated, never coded.

`CIVICRULES_INSTANCE` (default ./instance) holds the SQLite database, the generated secret key,
the embedded Redis socket and uploaded evidence. `DATABASE_URL` and `REDIS_URL` switch to servers.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    redis_url: str
    secret_key: str
    embedded_redis: bool
    lease_seconds: int
    batch_size: int
    max_attempts: int
    queue_prefix: str
    evidence_dir: Path | None = None  # photos; default <instance>/evidence (a mounted share in production)
    evidence_max_bytes: int = 10 * 2**20

    @property
    def redis_socket(self) -> Path:
        return self.instance / "redis.sock"


def instance_path() -> Path:
    path = Path(os.environ.get("CIVICRULES_INSTANCE", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret(instance: Path) -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def load_settings() -> Settings:
    instance = instance_path()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'civicrules.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    redis_url = os.environ.get("REDIS_URL", "")
    embedded = not redis_url
    if embedded:
        redis_url = f"unix://{instance / 'redis.sock'}"
    return Settings(
        instance=instance,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret(instance),
        embedded_redis=embedded,
        lease_seconds=int(os.environ.get("CIVICRULES_LEASE_SECONDS", "60")),
        batch_size=int(os.environ.get("CIVICRULES_BATCH_SIZE", "200")),
        max_attempts=int(os.environ.get("CIVICRULES_MAX_ATTEMPTS", "3")),
        queue_prefix=os.environ.get("CIVICRULES_QUEUE_PREFIX", "civicrules"),
        evidence_dir=Path(os.environ.get("CIVICRULES_EVIDENCE_DIR") or instance / "evidence").resolve(),
        evidence_max_bytes=int(float(os.environ.get("CIVICRULES_EVIDENCE_MAX_MB", "10")) * 2**20),
    )
