"""Every DM goes through one path: the remembered DM channel makes a DM one REST request, counted at the twin."""

from __future__ import annotations

from demo.community import Community
from storage import dm_channels
from twin.people import Person

SEND = ("POST", "/channels/{channel_id}/messages")
OPEN = ("POST", "/users/@me/channels")


async def followup_dm(c: Community, person: Person) -> list[tuple[str, str, int]]:
    """Check in Stuck, let the follow-up come due, run it; the REST requests the run made (method, route, status)."""
    await person.slash("checkin", channel=c.general, status="Stuck")
    c.clock.advance(days=3)
    before = len(c.twin.requests)
    await c.run_jobs()
    return [(r.method, r.route, r.status) for r in c.twin.requests[before:]]


async def stored_channel(c: Community, person: Person) -> int | None:
    assert c.bot is not None
    return await dm_channels.get(c.bot.db.conn, person.id)


async def test_first_dm_opens_the_channel_without_fetching_the_user_and_the_second_is_one_request(
    community: Community,
) -> None:
    c = community
    first = await followup_dm(c, c.alice)
    assert first == [(*OPEN, 200), (*SEND, 200)]  # no GET /users/{id}
    second = await followup_dm(c, c.alice)
    assert second == [(*SEND, 200)]
    assert len(c.alice.dms()) == 2
    dm = c.twin.state.dm_between(c.app.bot.id, c.alice.id)
    assert dm is not None and await stored_channel(c, c.alice) == dm.id


async def test_the_remembered_channel_survives_a_restart(community: Community) -> None:
    c = community
    await followup_dm(c, c.bob)
    await c.restart()  # a fresh discord.py cache: only the database knows the channel
    assert await followup_dm(c, c.bob) == [(*SEND, 200)]
    assert len(c.bob.dms()) == 2


async def test_a_channel_discord_calls_unknown_is_forgotten_and_opened_again_once(community: Community) -> None:
    c = community
    assert c.bot is not None
    async with c.bot.db.transaction() as conn:
        await dm_channels.remember(conn, c.alice.id, 4242)  # no such channel on Discord
    requests = await followup_dm(c, c.alice)
    assert requests == [(*SEND, 404), (*OPEN, 200), (*SEND, 200)]
    [dm] = c.alice.dms()
    assert "How is it going now?" in dm.text
    assert await stored_channel(c, c.alice) == c.twin.state.dm_between(c.app.bot.id, c.alice.id).id  # type: ignore[union-attr]


async def test_closed_dms_on_a_known_channel_cost_one_request_and_are_still_recorded(community: Community) -> None:
    c = community
    assert c.bot is not None
    await followup_dm(c, c.alice)
    c.twin.close_dms(c.alice)
    assert await followup_dm(c, c.alice) == [(*SEND, 403)]
    delivery = await c.bot.services.reminders.pending_notice(c.alice.id)
    assert delivery is not None and "DMs look closed" in delivery
    assert await stored_channel(c, c.alice) is not None  # the channel is fine; the member's setting is not
    c.twin.open_dms(c.alice)
    assert await followup_dm(c, c.alice) == [(*SEND, 200)]


async def test_privacy_delete_forgets_the_dm_channel_and_export_shows_it(community: Community) -> None:
    c = community
    await followup_dm(c, c.alice)
    channel = await stored_channel(c, c.alice)
    assert channel is not None
    export = await c.alice.slash("privacy export", channel=c.general)
    assert f'"dm_channel_id": "{channel}"' in export.attachments[0].data.decode()
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    await c.alice.click(prompt, "Delete everything")
    assert await stored_channel(c, c.alice) is None
