"""A small job-seeker community on the local Discord twin, with the real Porchlight bot connected to it.

One place builds the world that the demo, the end-to-end tests and the benchmarks all use: a server with public,
help, helpers-only and roster channels; helper, mentor and moderator roles; a handful of members; and Porchlight
invited with exactly the permissions its invite URL asks for. Time is a ManualClock so scheduled work (follow-ups,
reminders, escalations) is driven by moving the clock and running due jobs, never by sleeping.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord

from bot import PERMISSIONS, PorchlightBot, create_bot
from services.clock import ManualClock
from services.jobs import RunReport
from settings import Settings
from twin.people import Person
from twin.server import Twin
from twin.state import Application, Channel, Guild, Role
from twin.testing import running_bot

# Monday morning, Nov 23 2026 (UTC): a normal week, clear of daylight-saving switches.
DEFAULT_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
VIEW = discord.Permissions(view_channel=True).value
SEND = discord.Permissions(send_messages=True).value
EMBED = discord.Permissions(embed_links=True).value
MODERATOR = discord.Permissions(manage_threads=True, manage_messages=True, kick_members=True).value

# discord.py waits this long after the last GUILD_CREATE before on_ready; the twin sends them all at once.
GUILD_READY_TIMEOUT = 0.05


@dataclass
class Community:
    twin: Twin
    app: Application
    guild: Guild
    clock: ManualClock
    database_path: Path
    admin: Person
    alice: Person
    bob: Person
    carol: Person
    dave: Person
    helper: Person
    helper2: Person
    mod: Person
    general: Channel
    help: Channel
    queue: Channel
    roster: Channel
    helpers: Role
    mentors: Role
    mods: Role
    bot: PorchlightBot | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. metrics_port=0, applied at (re)start
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def members(self) -> list[Person]:
        return [self.admin, self.alice, self.bob, self.carol, self.dave, self.helper, self.helper2, self.mod]

    def settings(self) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
            token=self.app.token,
            database_path=self.database_path,
            discord_api_base=self.twin.api_base,
            discord_gateway_url=self.twin.gateway_url,
            **self.settings_overrides,
        )

    async def start_bot(self) -> PorchlightBot:
        """Start Porchlight against the twin (jobs run only when the test or demo says so)."""
        bot = await create_bot(
            self.settings(), clock=self.clock, run_jobs=False, guild_ready_timeout=GUILD_READY_TIMEOUT
        )
        await self._stack.enter_async_context(running_bot(self.twin, bot, self.app.token))
        self.bot = bot
        return bot

    async def restart(self) -> PorchlightBot:
        """Stop the bot as a deployment would (drain, close the database), then start a fresh one on the same file."""
        await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
        return await self.start_bot()

    async def configure(self) -> None:
        """What an admin does after inviting Porchlight: /setup channels and /setup roles."""
        await self.admin.slash(
            "setup channels", channel=self.general, help=self.help, queue=self.queue, roster=self.roster
        )
        await self.admin.slash(
            "setup roles", channel=self.general, helper=self.helpers, mentor=self.mentors, moderator=self.mods
        )

    async def run_jobs(self) -> RunReport:
        """Run every scheduled job that is due at the clock's current time."""
        assert self.bot is not None
        return await self.bot.services.jobs.run_due()

    async def close(self) -> None:
        await self._stack.aclose()


def build_world(
    twin: Twin,
    clock: ManualClock,
    database_path: Path,
    *,
    app: Application | None = None,
    name: str = "Job Seekers Hub",
    shard: tuple[int, int] | None = None,
) -> Community:
    """The community's server with Porchlight invited. A further server for the same bot: pass its ``app`` (the
    people are the same users, joining each server); ``shard=(shard_id, num_shards)`` puts it on that shard."""
    app = app or twin.create_application("Porchlight", token=secrets.token_urlsafe(24))
    admin_user = next((u for u in twin.state.users.values() if u.username == "admin" and not u.bot), None)
    guild = twin.create_guild(name, owner=admin_user or twin.create_user("admin"), shard=shard)
    # Helpers and moderators are mentionable so that escalations of unanswered requests notify them.
    helpers = twin.create_role(guild, "Helpers", mentionable=True)
    mentors = twin.create_role(guild, "Mentors")
    mods = twin.create_role(guild, "Mods", MODERATOR, mentionable=True)
    # Invited after the roles exist, so its managed role sits above the mentor role it assigns.
    twin.add_bot(guild, app, PERMISSIONS.value)
    bot_role = next(role for role in guild.roles.values() if role.bot_id == app.bot.id)
    everyone = guild.everyone
    general = twin.create_text_channel(guild, "general")
    help_channel = twin.create_text_channel(guild, "ask-for-help", topic="Private help threads open here.")
    queue = twin.create_text_channel(
        guild,
        "helper-queue",
        overwrites={everyone: (0, VIEW), helpers: (VIEW, 0), mods: (VIEW, 0), bot_role: (VIEW, 0)},
    )
    # Members read the roster and book from its buttons; only Porchlight posts there (cards, edited in place).
    roster = twin.create_text_channel(
        guild, "mentor-roster", overwrites={everyone: (0, SEND), bot_role: (SEND | EMBED, 0)}
    )
    return Community(
        twin=twin,
        app=app,
        guild=guild,
        clock=clock,
        database_path=database_path,
        admin=twin.member(guild, "admin"),
        alice=twin.member(guild, "alice"),
        bob=twin.member(guild, "bob"),
        carol=twin.member(guild, "carol"),
        dave=twin.member(guild, "dave"),
        helper=twin.member(guild, "hana", roles=[helpers]),
        helper2=twin.member(guild, "hugo", roles=[helpers]),
        mod=twin.member(guild, "maya", roles=[mods]),
        general=general,
        help=help_channel,
        queue=queue,
        roster=roster,
        helpers=helpers,
        mentors=mentors,
        mods=mods,
    )


@contextlib.asynccontextmanager
async def community(
    database_path: Path, *, start: datetime = DEFAULT_START, configure: bool = True
) -> AsyncIterator[Community]:
    """A running twin with the community built, Porchlight connected and (by default) /setup done."""
    twin = Twin()
    await twin.start()
    world = build_world(twin, ManualClock(start), database_path)
    try:
        await world.start_bot()
        if configure:
            await world.configure()
        yield world
    finally:
        await world.close()
        await twin.close()
