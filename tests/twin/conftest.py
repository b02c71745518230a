from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest

from tests.twin.bare_bot import BareBot
from twin import Application, Channel, Guild, Person, Role, Twin
from twin.testing import assert_no_discord_errors, running_bot, running_twin

BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_private_threads=True,
    create_public_threads=True,
    manage_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
)


@dataclass
class World:
    twin: Twin
    app: Application
    guild: Guild
    general: Channel
    help: Channel
    announcements: Channel
    helpers: Role
    moderators: Role
    alice: Person
    bob: Person
    carol: Person
    mod: Person
    owner: Person
    bot: BareBot


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    async with running_twin() as started:
        yield started


@pytest.fixture
async def world(twin: Twin, caplog: pytest.LogCaptureFixture) -> AsyncIterator[World]:
    app = twin.create_application("Bare", token="bare-token")
    owner_user = twin.create_user("owner")
    guild = twin.create_guild("Job Seekers", owner=owner_user)
    owner = twin.member(guild, "owner")
    twin.add_bot(guild, app, permissions=BOT_PERMISSIONS)
    helpers = twin.create_role(guild, "helpers", mentionable=True)
    moderators = twin.create_role(guild, "moderators", discord.Permissions(manage_threads=True))
    general = twin.create_text_channel(guild, "general")
    help_channel = twin.create_text_channel(guild, "help")
    announcements = twin.create_text_channel(
        guild, "announcements", overwrites={guild.everyone: (0, discord.Permissions(send_messages=True).value)}
    )
    alice = twin.member(guild, "alice")
    bob = twin.member(guild, "bob")
    carol = twin.member(guild, "carol", roles=[helpers])
    mod = twin.member(guild, "mod", roles=[moderators])
    bot = BareBot()
    async with running_bot(twin, bot, app.token):
        yield World(twin, app, guild, general, help_channel, announcements, helpers, moderators,
                    alice, bob, carol, mod, owner, bot)  # fmt: skip
    assert_no_discord_errors(caplog.records)
