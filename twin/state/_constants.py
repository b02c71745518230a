"""Discord's numbers as the twin uses them: permission bits, channel types, message flags and the time windows it
enforces."""

from __future__ import annotations

import discord

P = discord.Permissions
ALL_PERMISSIONS = P.all().value
ADMINISTRATOR = P(administrator=True).value
VIEW_CHANNEL = P(view_channel=True).value
SEND_MESSAGES = P(send_messages=True).value
SEND_MESSAGES_IN_THREADS = P(send_messages_in_threads=True).value
EMBED_LINKS = P(embed_links=True).value
ATTACH_FILES = P(attach_files=True).value
MENTION_EVERYONE = P(mention_everyone=True).value
SEND_TTS = P(send_tts_messages=True).value
MANAGE_THREADS = P(manage_threads=True).value
MANAGE_MESSAGES = P(manage_messages=True).value
MANAGE_CHANNELS = P(manage_channels=True).value
MANAGE_ROLES = P(manage_roles=True).value
READ_MESSAGE_HISTORY = P(read_message_history=True).value
CREATE_PUBLIC_THREADS = P(create_public_threads=True).value
CREATE_PRIVATE_THREADS = P(create_private_threads=True).value

GUILD_TEXT, DM, GUILD_VOICE, GUILD_CATEGORY = 0, 1, 2, 4
PUBLIC_THREAD, PRIVATE_THREAD = 11, 12
THREAD_TYPES = (PUBLIC_THREAD, PRIVATE_THREAD)

EPHEMERAL = 1 << 6
LOADING = 1 << 7

INTERACTION_TTL_SECONDS = 15 * 60
RESPONSE_WINDOW_SECONDS = 3.0
# Discord: with ``enforce_nonce`` a nonce is unique per author "in the past few minutes"; the twin says five.
NONCE_WINDOW_SECONDS = 5 * 60
