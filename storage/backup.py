"""Backups of the database file with SQLite's online backup API: consistent and safe while the bot writes.

A backup is written to ``<name>.partial`` beside its destination, converted to a single self-contained file
(rollback journal, no ``-wal``), checked with ``PRAGMA quick_check``, flushed to disk and only then renamed into
place, so a file under the final name is always a complete, checked backup. Backups hold members' private data:
files are mode 600 and the automatic backup folder 700.

Contact details are encrypted with a key that is not in the database. When that key lives in the file beside the
database (``<db>.key``), it is copied beside the backup (``<backup>.key``, mode 600): a restore without it would
silently lose every stored phone number. A key given in ``PORCHLIGHT_ENCRYPTION_KEY`` is never written anywhere.

Blocking functions: the bot calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

_STAMP = "%Y%m%dT%H%M%SZ"


class BackupFailed(Exception):
    """The backup could not be made; ``str()`` says why and names the files (never any data)."""


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size_bytes: int
    key_path: Path | None  # the contact-details key copied beside the backup, if it lives in a file


def backup_database(source: Path, destination: Path, *, key_file: Path | None = None) -> Backup:
    """Copy the database at ``source`` to ``destination`` (replacing an older file there atomically)."""
    source, destination = Path(source), Path(destination)
    if not source.is_file():
        raise BackupFailed(f"there is no database at {source} to back up")
    if destination.exists() and destination.resolve() == source.resolve():
        raise BackupFailed(f"refusing to back up {source} onto itself")
    if destination.is_dir():
        raise BackupFailed(f"{destination} is a folder; give the backup's file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    _create_private(partial)
    try:
        # mode=rw: never create an empty database where the source was expected.
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
        try:
            dst = sqlite3.connect(partial, isolation_level=None)
            try:
                src.backup(dst)  # one step: a consistent snapshot; in WAL mode writers are not blocked meanwhile
                dst.execute("PRAGMA journal_mode = DELETE")  # a single file: no -wal needed to read it back
                problems = [row[0] for row in dst.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise BackupFailed(f"the copy of {source} fails quick_check ({problems[0]}): the source is damaged")
            finally:
                dst.close()
        finally:
            src.close()
        _fsync(partial)
        os.replace(partial, destination)
        _fsync_dir(destination.parent)
    except sqlite3.Error as error:
        raise BackupFailed(f"backing up {source} to {destination} failed ({error})") from error
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}-journal").unlink(missing_ok=True)
    key_copy = None
    if key_file is not None and key_file.is_file():
        key_copy = Path(f"{destination}.key")
        _copy_private(key_file, key_copy)
    return Backup(destination, destination.stat().st_size, key_copy)


def backup_name(database: Path, at: datetime) -> str:
    """``porchlight-20260302T090000Z.db`` for database ``porchlight.db``: names sort in time order."""
    return f"{database.stem}-{at.astimezone(UTC).strftime(_STAMP)}{database.suffix or '.db'}"


def automatic_backups(folder: Path, database: Path) -> list[Path]:
    """The automatic backups of ``database`` in ``folder``, oldest first. Other files are never listed."""
    pattern = re.compile(rf"^{re.escape(database.stem)}-\d{{8}}T\d{{6}}Z{re.escape(database.suffix or '.db')}$")
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if pattern.match(path.name) and path.is_file())


def latest_backup_at(folder: Path, database: Path) -> datetime | None:
    found = automatic_backups(folder, database)
    if not found:
        return None
    stamp = found[-1].name[len(database.stem) + 1 : len(database.stem) + 17]
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)


def make_automatic_backup(
    database: Path, folder: Path, *, at: datetime, keep: int, key_file: Path | None = None
) -> tuple[Backup, list[Path]]:
    """A new timestamped backup in ``folder``, then all but the newest ``keep`` removed (with their key copies).
    Returns the backup and the files removed."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    made = backup_database(database, folder / backup_name(database, at), key_file=key_file)
    removed: list[Path] = []
    for old in automatic_backups(folder, database)[:-keep]:
        old.unlink(missing_ok=True)
        Path(f"{old}.key").unlink(missing_ok=True)
        removed.append(old)
    return made, removed


def _create_private(path: Path) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)


def _copy_private(source: Path, destination: Path) -> None:
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, destination)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_dir(folder: Path) -> None:
    try:
        _fsync(folder)
    except OSError:  # some filesystems cannot fsync a directory; the rename is still atomic
        log.debug("could not fsync folder path=%s", folder)
