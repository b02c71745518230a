"""The only place that reads the environment. Built once in ``bot.main()`` and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from discord_endpoints import DISCORD_API_BASE, DISCORD_GATEWAY_URL
from storage.sql import is_postgres_url, sqlite_path

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORCHLIGHT_", env_file=".env", env_ignore_empty=True, extra="ignore")

    token: SecretStr | None = Field(default=None, description="The bot token from the Developer Portal.")
    database_path: Path = Field(default=Path("porchlight.db"), description="SQLite file; created if missing.")
    database_url: str | None = Field(
        default=None,
        pattern=r"^(sqlite:///|postgres(ql)?://)",
        description=(
            "postgresql://user:password@host:5432/dbname for several processes sharing one database (needs "
            "PORCHLIGHT_ENCRYPTION_KEY), or sqlite:///path; unset: the SQLite file at PORCHLIGHT_DATABASE_PATH."
        ),
    )
    log_level: LogLevel = "INFO"
    discord_api_base: str = Field(default=DISCORD_API_BASE, description="REST base, e.g. a REST proxy.")
    discord_gateway_url: str = Field(default=DISCORD_GATEWAY_URL, description="Gateway websocket URL.")
    dev_guild_id: int | None = Field(default=None, description="Sync commands to this one guild instantly.")
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key for contact details at rest; when unset, one is kept in <database>.key (mode 600).",
    )
    backup_dir: Path | None = Field(
        default=None, description="Folder for the daily automatic backups; default: backups/ beside the database."
    )
    backup_keep: int = Field(
        default=7, ge=0, description="How many daily backups to keep (older ones are deleted); 0 turns them off."
    )
    job_concurrency: int = Field(
        default=16, ge=1, le=64, description="Scheduled jobs (reminders, follow-ups) run at the same time."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve /metrics (Prometheus) and /healthz on this port; unset: off. 0 picks a free port.",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Address the metrics and health endpoint binds to.")
    discord_global_limit: int = Field(
        default=50,
        ge=10,
        le=10_000,
        description=(
            "Discord's global limit for this bot, requests a second; Porchlight paces itself under it (each sharded "
            "process under its share, in proportion to the shards it holds)."
        ),
    )
    worker_name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description=(
            "Names this process in job and effect leases; distinct per process when several share one database. "
            "Unset: bot, or shards-0-1 from the shards this process holds."
        ),
    )
    shard_count: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Discord shards the bot runs on in all (every process gives the same number). Unset: one connection, "
            "no sharding, as for a single community; a bot in more than 2,500 servers must shard."
        ),
    )
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = Field(
        default=None,
        description=(
            "The shards this process holds, e.g. 0,1 (each below PORCHLIGHT_SHARD_COUNT); unset with a shard count: "
            "all of them. Give every process its own ids, together covering 0 to count - 1."
        ),
    )
    sync_commands: bool | None = Field(
        default=None,
        description=(
            "Whether this process syncs the slash commands with Discord. Unset: the process holding shard 0 (or the "
            "only, unsharded one) does, so exactly one process of a deployment syncs."
        ),
    )

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_id_list(cls, value: Any) -> Any:
        """``PORCHLIGHT_SHARD_IDS=0,1``: a comma-separated list (a JSON-style ``[0, 1]`` is accepted too)."""
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.strip().strip("[]").split(",") if part.strip()]
        bad = [part for part in parts if not part.isdigit()]
        if bad or not parts:
            raise ValueError(f"shard ids are whole numbers separated by commas, e.g. 0,1 (got {value!r})")
        return tuple(int(part) for part in parts)

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("PORCHLIGHT_SHARD_IDS needs PORCHLIGHT_SHARD_COUNT, the number of shards in all")
        if not self.shard_ids:
            raise ValueError("PORCHLIGHT_SHARD_IDS is empty; leave it unset to hold every shard")
        outside = sorted({i for i in self.shard_ids if i >= self.shard_count})
        if outside:
            raise ValueError(
                f"PORCHLIGHT_SHARD_IDS has {', '.join(map(str, outside))}, but with PORCHLIGHT_SHARD_COUNT="
                f"{self.shard_count} shards are numbered 0 to {self.shard_count - 1}"
            )
        if len(set(self.shard_ids)) != len(self.shard_ids):
            raise ValueError(f"PORCHLIGHT_SHARD_IDS names a shard twice: {','.join(map(str, self.shard_ids))}")
        return self

    @property
    def worker(self) -> str:
        """This process's name in leases: as set; else one per set of shards, so that two sharded processes left
        on the default never take each other's running jobs back as their own previous run's."""
        if self.worker_name is not None:
            return self.worker_name
        if self.shard_count is None:
            return "bot"
        return "shards-" + "-".join(str(shard) for shard in self.held_shards)

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None

    @property
    def held_shards(self) -> tuple[int, ...]:
        """The shards this process connects (``(0,)`` when not sharded: Discord's one implicit shard)."""
        if self.shard_count is None:
            return (0,)
        return tuple(sorted(self.shard_ids)) if self.shard_ids is not None else tuple(range(self.shard_count))

    @property
    def global_limit_share(self) -> int:
        """This process's share of Discord's global limit, which is per bot, not per connection: in proportion to the
        shards it holds (all of it when not sharded), so processes that hold every shard once never exceed it
        together. At least 2 requests a second."""
        if self.shard_count is None:
            return self.discord_global_limit
        return max(2, self.discord_global_limit * len(self.held_shards) // self.shard_count)

    @property
    def syncs_commands(self) -> bool:
        """This process is the one that syncs slash commands: as set, else the one holding shard 0."""
        return self.sync_commands if self.sync_commands is not None else 0 in self.held_shards

    @property
    def database(self) -> str:
        """Where the data lives: the URL when set, else the SQLite file's path."""
        return self.database_url if self.database_url is not None else str(self.database_path)

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file, or None on PostgreSQL."""
        if self.database_url is None:
            return self.database_path
        return None if is_postgres_url(self.database_url) else Path(sqlite_path(self.database_url))

    @property
    def backup_folder(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else (self.sqlite_file or Path(".")).parent / "backups"

    @property
    def key_file(self) -> Path | None:
        """The contact-details key file beside the SQLite database, unless the key comes from the environment (always,
        on PostgreSQL: every process must hold the same key)."""
        if self.encryption_key is not None or self.sqlite_file is None:
            return None
        return Path(f"{self.sqlite_file}.key")
