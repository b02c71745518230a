"""/setup through the twin: Manage Server only, ephemeral, stored per server, and commands synced only on change."""

from __future__ import annotations

import pytest

from demo.community import Community
from storage import guilds
from twin.people import CommandUnavailable


async def test_admin_sets_channels_and_roles_and_sees_them_in_setup_show(unconfigured: Community) -> None:
    c = unconfigured
    saved = await c.admin.slash("setup channels", channel=c.general, help=c.help, queue=c.queue, roster=c.roster)
    assert saved.ephemeral
    assert f"<#{c.queue.id}>" in saved.text
    await c.admin.slash("setup roles", channel=c.general, helper=c.helpers, mentor=c.mentors, moderator=c.mods)
    shown = await c.admin.slash("setup show", channel=c.general)
    assert shown.ephemeral
    for expected in (f"<#{c.help.id}>", f"<#{c.queue.id}>", f"<#{c.roster.id}>", f"<@&{c.helpers.id}>"):
        assert expected in shown.text
    assert c.bot is not None
    config = await guilds.get_config(c.bot.db.conn, c.guild.id)
    assert config is not None
    assert (config.help_channel_id, config.queue_channel_id, config.roster_channel_id) == (
        c.help.id,
        c.queue.id,
        c.roster.id,
    )
    assert (config.helper_role_id, config.mentor_role_id, config.moderator_role_id) == (
        c.helpers.id,
        c.mentors.id,
        c.mods.id,
    )


async def test_setup_replies_are_seen_by_the_admin_only(unconfigured: Community) -> None:
    c = unconfigured
    await c.admin.slash("setup channels", channel=c.general, help=c.help, queue=c.queue, roster=c.roster)
    marker = "Helper queue (helpers only)"
    c.twin.assert_only_visible_to(marker, allowed=[c.admin])


async def test_setup_show_before_any_setup_says_where_to_start(unconfigured: Community) -> None:
    shown = await unconfigured.admin.slash("setup show", channel=unconfigured.general)
    assert "/setup channels" in shown.text


async def test_setup_is_hidden_from_members_without_manage_server(unconfigured: Community) -> None:
    c = unconfigured
    with pytest.raises(CommandUnavailable, match="manage_guild"):
        await c.alice.slash("setup channels", channel=c.general, help=c.help, queue=c.queue, roster=c.roster)


async def test_member_let_in_by_an_override_is_still_refused_without_manage_server(unconfigured: Community) -> None:
    c = unconfigured
    # A server admin may open /setup to anyone in Integrations settings; Porchlight still requires Manage Server.
    c.twin.command_permission(c.guild, c.app, "setup", c.alice, allow=True)
    refusal = await c.alice.slash("setup channels", channel=c.general, help=c.help, queue=c.queue, roster=c.roster)
    assert refusal.ephemeral
    assert "Manage Server" in refusal.text
    assert c.bot is not None
    assert await guilds.get_config(c.bot.db.conn, c.guild.id) is None


async def test_queue_channel_shared_with_the_public_roster_is_refused(unconfigured: Community) -> None:
    c = unconfigured
    refusal = await c.admin.slash("setup channels", channel=c.general, help=c.help, queue=c.roster, roster=c.roster)
    assert refusal.ephemeral
    assert "helpers-only" in refusal.text
    assert c.bot is not None
    assert await guilds.get_config(c.bot.db.conn, c.guild.id) is None


async def test_everyone_as_helper_role_is_refused_with_what_to_do(unconfigured: Community) -> None:
    c = unconfigured
    refusal = await c.admin.slash("setup roles", channel=c.general, helper=c.guild.everyone, mentor=c.mentors)
    assert "@everyone can't be the helper role" in refusal.text
    assert "Create a role" in refusal.text


async def test_same_role_for_helpers_and_mentors_is_refused(unconfigured: Community) -> None:
    c = unconfigured
    refusal = await c.admin.slash("setup roles", channel=c.general, helper=c.helpers, mentor=c.helpers)
    assert "two different roles" in refusal.text


async def test_commands_are_synced_once_and_not_again_after_a_restart(unconfigured: Community) -> None:
    c = unconfigured

    def syncs() -> int:
        return sum(1 for r in c.twin.requests if r.method == "PUT" and r.route.endswith("/commands"))

    assert syncs() == 1
    await c.restart()
    assert syncs() == 1
    # The restarted bot still answers: commands and their handlers survived.
    shown = await c.admin.slash("setup show", channel=c.general)
    assert shown.ephemeral
