"""The twin's model of Discord: users, guilds, roles, channels, threads, messages and interactions.

Everything lives in memory. Serialisers (``*_payload``) return the full Discord objects that discord.py parses.
Permission computation follows Discord's documented algorithm; visibility rules follow what a person sees in the
client (private threads, ephemerals, DMs).

Where things are: Discord's numbers (permission bits, channel types, flags, time windows) in ``_constants.py``;
the clock and snowflakes in ``_time.py``; users, applications and commands in ``_apps.py``; guilds, roles,
members and channels in ``_guilds.py``; messages and interactions in ``_messages.py``; the :class:`State` that
holds them all, with its lookups, permission and visibility rules, in ``_store.py``. Import from ``twin.state``.
"""

from twin.state._apps import Application, Command, User
from twin.state._constants import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DM,
    EMBED_LINKS,
    EPHEMERAL,
    GUILD_CATEGORY,
    GUILD_TEXT,
    GUILD_VOICE,
    INTERACTION_TTL_SECONDS,
    LOADING,
    MANAGE_CHANNELS,
    MANAGE_MESSAGES,
    MANAGE_ROLES,
    MANAGE_THREADS,
    MENTION_EVERYONE,
    NONCE_WINDOW_SECONDS,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    RESPONSE_WINDOW_SECONDS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    SEND_TTS,
    THREAD_TYPES,
    VIEW_CHANNEL,
    P,
)
from twin.state._guilds import Channel, Guild, Member, Overwrite, Role, ThreadMember
from twin.state._messages import Attachment, Interaction, Message
from twin.state._store import Listener, Scope, State
from twin.state._time import Snowflakes, iso, now

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "ATTACH_FILES",
    "CREATE_PRIVATE_THREADS",
    "CREATE_PUBLIC_THREADS",
    "DM",
    "EMBED_LINKS",
    "EPHEMERAL",
    "GUILD_CATEGORY",
    "GUILD_TEXT",
    "GUILD_VOICE",
    "INTERACTION_TTL_SECONDS",
    "LOADING",
    "MANAGE_CHANNELS",
    "MANAGE_MESSAGES",
    "MANAGE_ROLES",
    "MANAGE_THREADS",
    "MENTION_EVERYONE",
    "NONCE_WINDOW_SECONDS",
    "PRIVATE_THREAD",
    "PUBLIC_THREAD",
    "READ_MESSAGE_HISTORY",
    "RESPONSE_WINDOW_SECONDS",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "SEND_TTS",
    "THREAD_TYPES",
    "VIEW_CHANNEL",
    "Application",
    "Attachment",
    "Channel",
    "Command",
    "Guild",
    "Interaction",
    "Listener",
    "Member",
    "Message",
    "Overwrite",
    "P",
    "Role",
    "Scope",
    "Snowflakes",
    "State",
    "ThreadMember",
    "User",
    "iso",
    "now",
]
