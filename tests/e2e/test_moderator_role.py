"""The configured moderator role can use every moderator command out of the box, whatever Discord permissions it
holds; when a server admin's command override takes one away, /setup check says exactly what to change."""

from __future__ import annotations

import pytest

from demo.community import Community
from twin.people import CommandUnavailable, Person
from twin.state import Role

FIX = "In Server Settings > Integrations > Porchlight > /block, choose Add Roles or Members, add @Mods and allow it."


async def stewards(c: Community) -> tuple[Role, Person]:
    """A moderator role with no Discord permissions at all, held by dave, set with /setup roles."""
    role = c.twin.create_role(c.guild, "Stewards", mentionable=True)
    c.twin.add_role(c.guild, c.dave, role)
    await c.admin.slash("setup roles", channel=c.general, helper=c.helpers, mentor=c.mentors, moderator=role)
    return role, c.dave


async def test_a_moderator_role_without_manage_messages_can_block_and_unblock(community: Community) -> None:
    c = community
    _, dave = await stewards(c)
    blocked = await dave.slash("block", channel=c.general, member=c.alice, reason="cool off")
    assert blocked.ephemeral and "can't open help requests or book calls" in blocked.text
    assert c.bot is not None and await c.bot.services.safety.is_blocked(c.guild.id, c.alice.id)
    unblocked = await dave.slash("unblock", channel=c.general, member=c.alice)
    assert "can open requests and book calls again" in unblocked.text
    shown = {"help-queue": "Open help requests", "pulse": "Check-in pulse", "mentor no-shows": "No missed calls"}
    for command, heading in shown.items():
        answer = await dave.slash(command, channel=c.general)
        assert answer.ephemeral and heading in answer.text, (command, answer.text)
    check = await c.admin.slash("setup check", channel=c.general)
    assert "moderator role) can't use" not in check.text
    # What the moderator did is seen by the moderator alone.
    c.twin.assert_only_visible_to("can't open help requests or book calls", allowed=[dave])


async def test_a_member_without_the_role_sees_block_but_is_refused(community: Community) -> None:
    c = community
    await stewards(c)
    answer = await c.bob.slash("block", channel=c.general, member=c.alice)
    assert answer.ephemeral and "for this server's moderators" in answer.text
    assert c.bot is not None and not await c.bot.services.safety.is_blocked(c.guild.id, c.alice.id)


async def test_setup_check_names_the_fix_when_an_override_hides_block_from_the_moderators(community: Community) -> None:
    c = community
    # An admin hides /block from @everyone in Server Settings > Integrations, forgetting the moderators.
    c.twin.command_permission(c.guild, c.app, "block", c.guild, allow=False)
    with pytest.raises(CommandUnavailable):
        await c.mod.slash("block", channel=c.general, member=c.alice)
    check = await c.admin.slash("setup check", channel=c.general)
    assert check.ephemeral and "@Mods (the moderator role) can't use /block" in check.text and FIX in check.text
    assert "/unblock" not in check.text  # only the command that is hidden
    c.twin.assert_only_visible_to(FIX, allowed=[c.admin])

    # The admin follows it to the letter.
    c.twin.command_permission(c.guild, c.app, "block", c.mods, allow=True)
    assert "can't use /block" not in (await c.admin.slash("setup check", channel=c.general)).text
    answer = await c.mod.slash("block", channel=c.general, member=c.alice)
    assert "can't open help requests or book calls" in answer.text


async def test_setup_check_sees_an_override_that_denies_the_moderator_role_itself(community: Community) -> None:
    c = community
    c.twin.command_permission(c.guild, c.app, "pulse", c.mods, allow=False)
    check = await c.admin.slash("setup check", channel=c.general)
    assert "@Mods (the moderator role) can't use /pulse" in check.text
