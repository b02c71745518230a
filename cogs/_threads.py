"""Opening a private thread for a member, shared by help requests and check-in reach-outs.

Private (type 12) and not invitable, under a configured parent channel, so only the people the bot adds and staff
with Manage Threads can see it. The bot's permissions are checked first, so a missing permission is reported by
name instead of leaving a half-made thread behind."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Literal

import discord

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week

# What the bot needs in the parent channel to open a private thread and add members to it.
THREAD_PERMISSIONS = {
    "view_channel": "View Channel",
    "create_private_threads": "Create Private Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "manage_threads": "Manage Threads",
}


class MissingThreadPermissions(Exception):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


def missing_thread_permissions(parent: discord.TextChannel) -> list[str]:
    """The names of the permissions the bot lacks in ``parent`` to open private threads (empty when all is well)."""
    perms = parent.permissions_for(parent.guild.me)
    return [label for name, label in THREAD_PERMISSIONS.items() if not getattr(perms, name)]


async def open_private_thread(
    parent: discord.TextChannel, name: str, *, members: Iterable[int | None] = ()
) -> discord.Thread:
    """Find-or-create the bot's private thread ``name`` under ``parent`` and add ``members``.

    An active thread of the bot with that name is reused (a crash or a retry never opens a second one). Raises
    :class:`MissingThreadPermissions` when Discord refuses (the half-made thread is removed), and
    :class:`discord.NotFound` when a member is not in the server any more.
    """
    missing = missing_thread_permissions(parent)
    if missing:
        raise MissingThreadPermissions(missing)
    me = parent.guild.me
    thread = next((t for t in parent.threads if t.name == name and t.owner_id == me.id), None)
    created = thread is None
    try:
        if thread is None:
            thread = await parent.create_thread(
                name=name,
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        for member_id in members:
            if member_id is not None:
                await thread.add_user(discord.Object(member_id))
    except discord.HTTPException as error:
        if created and thread is not None:
            with contextlib.suppress(discord.HTTPException):
                await thread.delete()
        if isinstance(error, discord.Forbidden):
            raise MissingThreadPermissions(list(THREAD_PERMISSIONS.values())) from None
        raise
    log.info("private thread ready parent=%d thread=%d created=%s", parent.id, thread.id, created)
    return thread
