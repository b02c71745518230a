"""Remembers which application-command payload was last synced, so restarts do not burn Discord's sync limit."""

from __future__ import annotations

import hashlib
import json

from storage import meta
from storage.db import Database


def commands_digest(payload: list[dict[str, object]]) -> str:
    """A stable hash of the command payload discord.py would send (order and key order do not matter)."""
    canonical = sorted(json.dumps(command, sort_keys=True, separators=(",", ":")) for command in payload)
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


class CommandSyncLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def _key(scope: str) -> str:
        return f"commands_digest:{scope}"

    async def is_current(self, scope: str, digest: str) -> bool:
        return await meta.get_meta(self._db.conn, self._key(scope)) == digest

    async def record(self, scope: str, digest: str) -> None:
        async with self._db.transaction() as conn:
            await meta.set_meta(conn, self._key(scope), digest)
