"""Helpers who don't burn out, through the twin: topics, on-call DMs to the least recently helped, on call ending by
itself, a cap on active claims, and /helper me — each seen only by the helper it concerns."""

from __future__ import annotations

import json
from datetime import timedelta

from demo.community import Community
from storage import guilds
from tests.e2e.test_help import ask, cards

ON_CALL = "is waiting for a helper"


def on_call_dms(person: object) -> list[str]:
    return [m.text for m in person.dms() if ON_CALL in m.text]  # type: ignore[attr-defined]


async def topics(c: Community, person: object, chosen: list[str]) -> None:
    prompt = await person.slash("helper topics", channel=c.general)  # type: ignore[attr-defined]
    saved = await person.select(prompt, "helper:topics", chosen)  # type: ignore[attr-defined]
    assert saved.ephemeral and "Saved" in saved.text


async def test_a_new_request_dms_two_on_call_helpers_taking_its_topic_the_least_recently_helped_first(
    community: Community,
) -> None:
    c = community
    ivy = c.twin.member(c.guild, "ivy", roles=[c.helpers])
    await topics(c, c.helper, ["Interviews"])
    await topics(c, ivy, [])  # none chosen: every topic
    await topics(c, c.helper2, [])
    await ask(c.bob, c, topic="resume")  # hugo helped recently...
    await c.helper2.click(cards(c)[0], "Claim")
    for person in (c.helper, ivy, c.helper2):
        answer = await person.slash("helper on-call", channel=c.general, hours=2)
        assert answer.ephemeral and "on call until" in answer.text
    await ask(c.alice, c, topic="interviews")
    # ...so the two DMs go to hana (interviews) and ivy (every topic), never helped, and not to hugo.
    [to_hana], [to_ivy] = on_call_dms(c.helper), on_call_dms(ivy)
    assert on_call_dms(c.helper2) == []
    assert to_hana == to_ivy and "request #2 (Interviews)" in to_hana and "What would help" in to_hana
    assert "alice" not in to_hana and str(c.alice.id) not in to_hana  # never who asked
    for person in (c.alice, c.bob, c.carol, c.dave, c.mod, c.admin):
        assert all(ON_CALL not in v.text for v in c.twin.visible_to(person))


async def test_on_call_ends_by_itself_and_a_topic_not_taken_sends_nothing(community: Community) -> None:
    c = community
    await topics(c, c.helper, ["Resume"])
    await c.helper.slash("helper on-call", channel=c.general, hours=1)
    await ask(c.alice, c, topic="interviews")  # not hana's topic
    c.clock.advance(timedelta(hours=1, minutes=1))
    await ask(c.bob, c, topic="resume")  # hana's topic, but her hour is over
    assert on_call_dms(c.helper) == []
    me = await c.helper.slash("helper me", channel=c.general)
    assert "off call" in me.text


async def test_helper_off_stops_the_dms_at_once(community: Community) -> None:
    c = community
    await c.helper.slash("helper on-call", channel=c.general, hours=3)
    off = await c.helper.slash("helper off", channel=c.general)
    assert "off call" in off.text
    await ask(c.alice, c)
    assert on_call_dms(c.helper) == []
    again = await c.helper.slash("helper off", channel=c.general)
    assert "weren't on call" in again.text


async def test_a_claim_past_the_helpers_cap_is_refused_with_the_reason(community: Community) -> None:
    c = community
    assert c.bot is not None
    async with c.bot.db.transaction() as conn:
        await guilds.update_settings(conn, guild_id=c.guild.id, changes={"max_claims_per_helper": 1}, now=c.clock.now())
    await ask(c.alice, c)
    await ask(c.bob, c)
    first, second = sorted(cards(c), key=lambda card: card.id)
    await c.helper.click(first, "Claim")
    refused = await c.helper.click(second, "Claim")
    assert refused.ephemeral and "already helping with 1 request (#1)" in refused.text
    assert "Waiting for a helper" in second.text  # nothing was claimed
    await c.helper2.click(second, "Claim")  # another helper still can
    assert "Claimed by 1 helper" in second.text


async def test_helper_me_shows_claims_topics_on_call_and_helped_this_month_to_the_helper_only(
    community: Community,
) -> None:
    c = community
    await topics(c, c.helper, ["Interviews", "Resume"])
    await c.helper.slash("helper on-call", channel=c.general, hours=4)
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    me = await c.helper.slash("helper me", channel=c.general)
    assert me.ephemeral
    assert "#1 Interviews" in me.text and "Interviews, Resume" in me.text and "until <t:" in me.text
    fields = {f["name"]: f["value"] for f in me.embeds[0]["fields"]}
    assert fields["People you helped this month"] == "1"
    assert fields["Requests you're helping with (1)"].startswith("#1 Interviews")


async def test_members_without_the_helper_role_are_refused(community: Community) -> None:
    c = community
    refused = await c.alice.slash("helper on-call", channel=c.general, hours=2)
    assert refused.ephemeral and "for this server's helpers" in refused.text
    await ask(c.bob, c)
    assert on_call_dms(c.alice) == []


async def test_privacy_export_shows_and_delete_forgets_a_helpers_topics_and_on_call(community: Community) -> None:
    c = community
    await topics(c, c.helper, ["Offers"])
    await c.helper.slash("helper on-call", channel=c.general, hours=2)
    export = json.loads((await c.helper.slash("privacy export", channel=c.general)).attachments[0].data)
    assert export["helper_duty"]["topics"] == ["offers"] and export["helper_duty"]["on_call_until"]
    prompt = await c.helper.slash("privacy delete", channel=c.general)
    await c.helper.click(prompt, "Delete everything")
    export = json.loads((await c.helper.slash("privacy export", channel=c.general)).attachments[0].data)
    assert export["helper_duty"] is None
    await ask(c.alice, c, topic="offers")
    assert on_call_dms(c.helper) == []
