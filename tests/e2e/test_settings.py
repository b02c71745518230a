"""/setup settings, /setup set and /setup reset through the twin: every setting in the catalogue is set, shown,
validated and reset; changes take effect without a restart; privacy-weakening changes are confirmed and announced;
every change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from demo.community import Community
from services import settings_catalog as catalog
from services.checkins import followup_dedupe_key
from storage import guilds, jobs
from twin.people import CommandUnavailable, MessageView


async def current(c: Community, name: str) -> object:
    assert c.bot is not None
    return catalog.current(await guilds.get_config(c.bot.db.conn, c.guild.id), name)


def other_value(setting: catalog.Setting) -> str:
    """A valid value that is not the default."""
    if setting.kind == "bool":
        return "off" if setting.default else "on"
    return str(setting.maximum if setting.default != setting.maximum else setting.minimum)


async def test_every_setting_is_set_shown_validated_and_reset(community: Community) -> None:
    c = community
    for setting in catalog.CATALOG:
        name = setting.name
        typed = other_value(setting)
        answer = await c.admin.slash("setup set", channel=c.general, name=name, value=typed)
        if setting.weakens_privacy_when is not None and typed == "on":
            answer = await c.admin.click(answer, "Yes, turn it on")
        expected = catalog.parse(setting, typed)
        assert await current(c, name) == expected, name
        before, after = catalog.show(setting, setting.default), catalog.show(setting, expected)
        assert f"{before} → {after}" in answer.text, (name, answer.text)

        shown = await c.admin.slash("setup settings", channel=c.general)
        assert shown.ephemeral
        assert f"`{name}`**: {after} · default {before}" in shown.text, name

        if setting.kind == "int":
            refused = await c.admin.slash("setup set", channel=c.general, name=name, value="lots")
            assert "whole number" in refused.text and setting.range_text in refused.text, refused.text
            refused = await c.admin.slash("setup set", channel=c.general, name=name, value=str(setting.maximum + 1))
            assert f"must be {setting.range_text}" in refused.text, refused.text
        else:
            refused = await c.admin.slash("setup set", channel=c.general, name=name, value="maybe")
            assert "`on` or `off`" in refused.text
        assert await current(c, name) == expected, f"{name} changed by a refused value"

        reset = await c.admin.slash("setup reset", channel=c.general, name=name)
        assert f"{after} → {before}" in reset.text and "default" in reset.text
        assert await current(c, name) == setting.default
        assert c.bot is not None
        config = await guilds.get_config(c.bot.db.conn, c.guild.id)
        assert config is not None and name not in config.settings


async def test_units_are_named_in_the_range_message(community: Community) -> None:
    c = community
    refused = await c.admin.slash("setup set", channel=c.general, name="followup_days", value="90")
    assert "`followup_days` must be 1 to 30 days; 90 is out of range." in refused.text
    accepted = await c.admin.slash("setup set", channel=c.general, name="followup_days", value="7 days")
    assert "3 days → 7 days" in accepted.text
    assert "applies to new check-ins" in accepted.text


async def test_unknown_setting_is_refused_and_nothing_is_stored(community: Community) -> None:
    c = community
    refused = await c.admin.slash("setup set", channel=c.general, name="follow_up_days", value="7")
    assert refused.ephemeral
    assert "no setting called `follow_up_days`" in refused.text
    assert c.bot is not None
    config = await guilds.get_config(c.bot.db.conn, c.guild.id)
    assert config is not None and dict(config.settings) == {}
    assert await guilds.recent_setting_changes(c.bot.db.conn, c.guild.id) == []


async def test_setting_names_autocomplete_with_their_range(community: Community) -> None:
    c = community
    choices = await c.admin.autocomplete("setup set", "name", "follow", channel=c.general, value="")
    assert [choice["value"] for choice in choices] == ["followup_days"]
    assert choices[0]["name"] == "followup_days (1 to 30 days)"
    everything = await c.admin.autocomplete("setup reset", "name", "", channel=c.general)
    assert len(everything) == min(25, len(catalog.CATALOG))


async def test_members_without_manage_server_cannot_change_settings(community: Community) -> None:
    c = community
    with pytest.raises(CommandUnavailable, match="manage_guild"):
        await c.mod.slash("setup set", channel=c.general, name="followup_days", value="7")
    c.twin.command_permission(c.guild, c.app, "setup", c.alice, allow=True)
    refusal = await c.alice.slash("setup set", channel=c.general, name="followup_days", value="7")
    assert "Manage Server" in refusal.text
    assert await current(c, "followup_days") == 3


async def test_a_changed_followup_days_applies_to_the_next_checkin_without_a_restart(community: Community) -> None:
    c = community
    assert c.bot is not None
    await c.alice.slash("checkin", channel=c.general, status="Stuck")
    first_due = await jobs.pending_due_at(c.bot.db.conn, followup_dedupe_key(c.guild.id, c.alice.id))
    assert first_due == c.clock.now() + timedelta(days=3)

    await c.admin.slash("setup set", channel=c.general, name="followup_days", value="7")
    answer = await c.bob.slash("checkin", channel=c.general, status="Stuck")
    assert "7 days" in answer.text
    due = await jobs.pending_due_at(c.bot.db.conn, followup_dedupe_key(c.guild.id, c.bob.id))
    assert due == c.clock.now() + timedelta(days=7)
    # Alice's follow-up, scheduled before the change, keeps its time.
    assert await jobs.pending_due_at(c.bot.db.conn, followup_dedupe_key(c.guild.id, c.alice.id)) == first_due
    c.clock.advance(days=7, minutes=-1)
    await c.run_jobs()
    assert c.bob.dms() == []
    c.clock.advance(minutes=1)
    await c.run_jobs()
    assert len(c.bob.dms()) == 1


async def test_a_lowered_checkin_limit_refuses_the_next_checkin(community: Community) -> None:
    c = community
    await c.admin.slash("setup set", channel=c.general, name="limit_checkins_per_hour", value="1")
    await c.alice.slash("checkin", channel=c.general, status="On track")
    refused = await c.alice.slash("checkin", channel=c.general, status="On track")
    assert "This server allows 1 check-ins an hour." in refused.text


async def test_every_change_is_audited_and_listed_in_setup_settings(community: Community) -> None:
    c = community
    assert c.bot is not None
    await c.admin.slash("setup set", channel=c.general, name="followup_days", value="7")
    await c.admin.slash("setup set", channel=c.general, name="followup_days", value="7")  # no change: no entry
    await c.admin.slash("setup reset", channel=c.general, name="followup_days")
    changes = await guilds.recent_setting_changes(c.bot.db.conn, c.guild.id)
    assert [(ch.name, ch.old_value, ch.new_value, ch.changed_by) for ch in changes] == [
        ("followup_days", 7, None, c.admin.id),
        ("followup_days", None, 7, c.admin.id),
    ]
    assert all(ch.changed_at == c.clock.now() for ch in changes)
    shown = await c.admin.slash("setup settings", channel=c.general)
    assert f"<@{c.admin.id}>: `followup_days` default → 7 days" in shown.text
    assert f"<@{c.admin.id}>: `followup_days` 7 days → default" in shown.text


async def test_showing_askers_in_the_queue_needs_confirmation_and_is_announced(community: Community) -> None:
    c = community
    asked = await c.admin.slash("setup set", channel=c.general, name="show_asker_in_queue", value="on")
    assert isinstance(asked, MessageView) and asked.ephemeral
    assert "Turn it on?" in asked.text
    assert await current(c, "show_asker_in_queue") is False  # nothing changes until confirmed
    cancelled = await c.admin.click(asked, "Cancel")
    assert "Nothing changed" in cancelled.text
    assert await current(c, "show_asker_in_queue") is False
    assert c.twin.state.channel_messages(c.queue.id) == []

    asked = await c.admin.slash("setup set", channel=c.general, name="show_asker_in_queue", value="on")
    done = await c.admin.click(asked, "Yes, turn it on")
    assert "off → on" in done.text
    assert await current(c, "show_asker_in_queue") is True
    [notice] = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]
    assert "show_asker_in_queue" in notice.text and c.admin.mention in notice.text

    # Turning it off strengthens privacy: no confirmation.
    off = await c.admin.slash("setup set", channel=c.general, name="show_asker_in_queue", value="off")
    assert "on → off" in off.text
    assert await current(c, "show_asker_in_queue") is False


async def test_the_audit_is_in_the_admins_export_and_anonymised_when_they_delete(community: Community) -> None:
    c = community
    assert c.bot is not None
    await c.admin.slash("setup set", channel=c.general, name="idle_days", value="5")
    exported = await c.bot.services.privacy.export(c.guild.id, c.admin.id)
    [change] = exported["settings_changes"]
    assert (change["name"], change["from"], change["to"]) == ("idle_days", None, 5)
    await c.bot.services.privacy.delete(c.guild.id, c.admin.id)
    [kept] = await guilds.recent_setting_changes(c.bot.db.conn, c.guild.id)
    assert (kept.name, kept.new_value, kept.changed_by) == ("idle_days", 5, None)
    shown = await c.admin.slash("setup settings", channel=c.general)
    assert "a former member: `idle_days` default → 5 days" in shown.text


async def test_show_asker_in_queue_names_the_asker_on_the_next_card(community: Community) -> None:
    from tests.e2e.test_help import ask, cards

    c = community
    await ask(c.alice, c)
    [anonymous] = cards(c)
    assert "Asked by" not in anonymous.text and str(c.alice.id) not in anonymous.text
    asked = await c.admin.slash("setup set", channel=c.general, name="show_asker_in_queue", value="on")
    await c.admin.click(asked, "Yes, turn it on")
    c.clock.advance(timedelta(minutes=11))
    await ask(c.bob, c, topic="resume")
    named = [card for card in cards(c) if "resume" in card.text.lower()]
    assert named and f"Asked by\n<@{c.bob.id}>" in named[0].text


async def test_max_open_requests_and_cooldown_apply_to_the_next_ask(community: Community) -> None:
    from tests.e2e.test_help import ask

    c = community
    await c.admin.slash("setup set", channel=c.general, name="request_cooldown_minutes", value="0")
    await c.admin.slash("setup set", channel=c.general, name="max_open_requests", value="1")
    await ask(c.alice, c)
    over = await c.alice.slash("ask", channel=c.general, topic="offers")
    assert "the most this server allows at once is 1" in over.content
    await c.admin.slash("setup set", channel=c.general, name="max_open_requests", value="2")
    await ask(c.alice, c, topic="offers")  # no cooldown, room for a second


async def test_escalate_after_hours_moves_the_first_escalation(community: Community) -> None:
    from tests.e2e.test_help import ask, cards

    c = community
    await c.admin.slash("setup set", channel=c.general, name="escalate_after_hours", value="1")
    await ask(c.alice, c)
    [first] = cards(c)
    c.clock.advance(timedelta(minutes=59))
    await c.run_jobs()
    assert not first.deleted
    c.clock.advance(timedelta(minutes=2))
    await c.run_jobs()
    [second] = cards(c)
    assert first.deleted and "helpers asked again" in second.text
