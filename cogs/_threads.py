"""What private threads for a member need, shared by help requests and check-in reach-outs (both open theirs as
effects: ``cogs/help/_effects.py``, ``cogs/checkins/_effects.py``).

Private (type 12) and not invitable, under a configured parent channel, so only the people the bot adds and staff
with Manage Threads can see it. The bot's permissions are checked first, so a missing permission is reported by
name instead of leaving a half-made thread behind."""

from __future__ import annotations

import logging
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


def missing_thread_permissions(parent: discord.TextChannel) -> list[str]:
    """The names of the permissions the bot lacks in ``parent`` to open private threads (empty when all is well)."""
    perms = parent.permissions_for(parent.guild.me)
    return [label for name, label in THREAD_PERMISSIONS.items() if not getattr(perms, name)]
