"""/privacy show, export and delete through the twin; the every-table scan after delete; retention; leaving."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import discord

from cogs._dm import send_dm
from demo.community import Community
from services.help_requests import ESCALATE_JOB, IDLE_JOB
from services.jobs import JobKind
from services.mentors import JOB_KINDS as MENTOR_JOBS
from services.privacy import EXPORT_FORMAT, EXPORT_VERSION
from storage import catalog, guilds
from storage.db import Database
from storage.jobs import Job
from twin.people import Person
from twin.state import PRIVATE_THREAD

NOTE = "alice-note-lost-my-nerve"
SHARED_NOTE = "alice-shared-note-please-call"
BODY = "alice-body-my-resume-gets-no-replies"
WANTS = "alice-wants-a-second-pair-of-eyes"
ABOUT = "alice-about-ten-years-in-recruiting"
HEADLINE = "alice-headline-resume-reviews"
TOPIC = "alice-topic-salary-negotiation"
PHONE = "+44 20 7946 0958"
PHONE_DIGITS = "2079460958"
ALICE_TEXT = (NOTE, SHARED_NOTE, BODY, WANTS, ABOUT, HEADLINE, TOPIC, PHONE_DIGITS)


def bot(c: Community) -> Any:
    assert c.bot is not None
    return c.bot


async def _nothing(job: Job) -> None:
    return None


def stand_in_job_kinds(c: Community) -> None:
    """Until the help and mentors cogs land, their job kinds have no handler; these stand-ins do nothing."""
    jobs = bot(c).services.jobs
    for kind in (ESCALATE_JOB, IDLE_JOB, *MENTOR_JOBS):
        if kind not in jobs.kinds:
            jobs.register(JobKind(kind, _nothing))


async def open_help_thread(c: Community, person: Person, body: str, wants: str) -> discord.Thread:
    """What the help cog does for /ask: store the request, open the private thread, attach it."""
    stand_in_job_kinds(c)
    services = bot(c).services
    outcome = await services.help_requests.open_request(c.guild.id, person.id, "resume", body, wants, f"k-{person.id}")
    channel = bot(c).get_guild(c.guild.id).get_channel(c.help.id)
    thread = await channel.create_thread(
        name=f"help-{outcome.request.number}", type=discord.ChannelType.private_thread, invitable=False
    )
    await thread.add_user(discord.Object(person.id))
    await services.help_requests.attach_thread(outcome.request.id, thread.id, None)
    return thread


async def mentor(c: Community, person: Person, **fields: Any) -> None:
    mentors = bot(c).services.mentors
    values: dict[str, Any] = {
        "timezone": "UTC",
        "windows": "Mon-Fri 07:30-08:30",
        "call_minutes": 30,
        "contact_mode": "they_call_me",
        "headline": f"{person.name} mentor",
        "topics": "resume",
        "phone": "+1 415 555 0100",
    }
    values.update(fields)
    await mentors.signup(c.guild.id, person.id, **values)
    await mentors.approve(c.guild.id, person.id, moderator_id=c.mod.id)


async def book(c: Community, member: Person, with_mentor: Person, topic: str = "") -> None:
    mentors = bot(c).services.mentors
    slot = (await mentors.slots_for(c.guild.id, with_mentor.id, member.id))[-1]  # a week or more ahead
    booking = await mentors.request_booking(c.guild.id, with_mentor.id, member.id, slot, topic_text=topic)
    await mentors.accept(booking.id, with_mentor.id)


async def give_alice_everything(c: Community) -> discord.Thread:
    stand_in_job_kinds(c)
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    await c.alice.slash("checkin", channel=c.general, status="In a rut", note=SHARED_NOTE, share_with_helpers=True)
    await c.alice.slash("reminders checkin", channel=c.general, every="daily", time="08:00", timezone="Europe/Berlin")
    thread = await open_help_thread(c, c.alice, BODY, WANTS)
    await mentor(c, c.alice, about=ABOUT, headline=HEADLINE, phone=PHONE)
    await mentor(c, c.carol)
    await book(c, c.alice, c.carol, topic=TOPIC)  # alice asks carol for a call
    await book(c, c.bob, c.alice)  # bob asks alice for a call
    await c.bob.slash("checkin", channel=c.general, status="On track", note="bob-note")
    return thread


def _id_forms(user_id: int, value: Any, where: str) -> list[str]:
    """Where ``value`` (a column value, or a scalar inside a JSON one) holds the id: as a number, or as a whole
    digit run in text (``"123…"``, ``<@123…>``, ``<@!123…>``, ``role:1:123…``)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [f"{where} holds the id as a number"] if value == user_id else []
    if isinstance(value, str) and re.search(rf"(?<!\d){user_id}(?!\d)", value):
        return [f"{where} holds the id in text"]
    return []


def _json_scalars(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _json_scalars(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [pair for index, item in enumerate(value) for pair in _json_scalars(item, f"{path}[{index}]")]
    return [(path, value)]


def scan_database(path: str, user_id: int | None, texts: tuple[str, ...]) -> list[str]:
    """Every table, every row, every column of the SQLite file: where the id (as a number, a string or a mention,
    also inside JSON payloads and keys) or any of the texts still is."""

    async def scan() -> list[str]:
        db = await Database.open(path)
        try:
            return await scan_db(db, user_id, texts)
        finally:
            await db.close()

    return _run_apart(scan())


def _run_apart(coroutine: Coroutine[Any, Any, list[str]]) -> list[str]:
    """Run on a loop of its own in a thread: callers are sync, and may be inside the test's running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def scan_db(db: Database, user_id: int | None, texts: tuple[str, ...]) -> list[str]:
    """The same scan on either engine, through Porchlight's own connection."""
    found: list[str] = []
    tables = await catalog.table_names(db.conn)
    assert "checkins" in tables and "bookings" in tables and "member_blocks" in tables and "jobs" in tables
    for table in tables:
        columns = await catalog.column_names(db.conn, table)
        for row in await catalog.all_rows(db.conn, table):
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                where = f"{table}.{column}"
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                if user_id is not None:
                    found += _id_forms(user_id, value if not isinstance(value, bytes) else text, where)
                    if isinstance(value, str) and value[:1] in "{[":
                        try:
                            decoded = json.loads(value)
                        except ValueError:
                            decoded = None
                        for inner, scalar in _json_scalars(decoded, where):
                            found += _id_forms(user_id, scalar, f"{inner} (JSON)")
                found += [f"{where} holds {t!r}" for t in texts if t in text]
    return found


async def daily(c: Community) -> None:
    """The daily privacy pass (a deployment runs it at start-up and every 24 hours)."""
    cog = bot(c).get_cog("PrivacyCog")
    assert cog is not None
    await cog.daily()


def holds(c: Community, *texts: str) -> bool:
    """Whether any of ``texts`` is anywhere in the database (any table, any column)."""
    return bool(scan_database(str(c.database_path), None, texts))


# --- show -------------------------------------------------------------------------------------------------------------


async def test_privacy_show_with_nothing_stored_says_so_privately(community: Community) -> None:
    answer = await community.dave.slash("privacy show", channel=community.general)
    assert answer.ephemeral
    assert "Nothing about you is stored" in answer.text


async def test_privacy_show_lists_counts_dates_reminder_profile_calls_and_requests(community: Community) -> None:
    c = community
    await give_alice_everything(c)
    answer = await c.alice.slash("privacy show", channel=c.general)
    assert answer.ephemeral
    text = answer.text
    assert "2, from <t:" in text  # two check-ins, with dates
    assert "Every day at 08:00 (Europe/Berlin)" in text
    assert HEADLINE in text and "active" in text
    assert "as member" in text and "as mentor" in text  # both upcoming calls
    assert "#1 resume (open)" in text
    assert NOTE not in text and BODY not in text  # counts and dates, not the text itself
    c.twin.assert_only_visible_to(HEADLINE, allowed=[c.alice])


# --- export -----------------------------------------------------------------------------------------------------------


async def test_privacy_export_is_an_ephemeral_json_file_in_the_documented_shape(community: Community) -> None:
    c = community
    await give_alice_everything(c)
    answer = await c.alice.slash("privacy export", channel=c.general)
    assert answer.ephemeral
    [attachment] = answer.attachments
    assert attachment.filename.endswith(".json")
    data = json.loads(attachment.data)
    assert data["format"] == EXPORT_FORMAT and data["version"] == EXPORT_VERSION
    assert data["member_id"] == str(c.alice.id) and data["server_id"] == str(
        c.guild.id,
    )
    assert set(data) >= {
        "exported_at", "checkins", "reminder_schedule", "dm_delivery", "dm_channel_id", "help_requests", "help_claims",
        "mentor_profiles", "calls", "block", "left_server_at",
    }  # fmt: skip
    assert [c["note"] for c in data["checkins"]] == [NOTE, SHARED_NOTE]
    assert data["reminder_schedule"]["timezone"] == "Europe/Berlin"
    assert data["help_requests"][0]["what_is_going_on"] == BODY
    assert data["mentor_profiles"][0]["about"] == ABOUT
    assert data["mentor_profiles"][0]["phone"] == "+442079460958"
    roles = sorted(call["role"] for call in data["calls"])
    assert roles == ["member", "mentor"]
    mine = next(call for call in data["calls"] if call["role"] == "member")
    assert mine["topic"] == TOPIC and mine["with_user_id"] == str(c.carol.id)
    c.twin.assert_only_visible_to(ABOUT, allowed=[c.alice])
    c.twin.assert_only_visible_to(BODY, allowed=[c.alice])


async def test_export_leaves_out_other_peoples_words(community: Community) -> None:
    c = community
    await give_alice_everything(c)
    data = json.loads((await c.carol.slash("privacy export", channel=c.general)).attachments[0].data)
    call = next(call for call in data["calls"] if call["role"] == "mentor")
    assert call["with_user_id"] == str(c.alice.id)
    assert call["topic"] is None  # alice's words stay alice's
    assert TOPIC not in json.dumps(data)


# --- delete -----------------------------------------------------------------------------------------------------------


async def test_delete_asks_first_and_keep_deletes_nothing(community: Community) -> None:
    c = community
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    assert prompt.ephemeral and "cannot be undone" in prompt.text
    kept = await c.alice.click(prompt, "Keep my data")
    assert "Nothing was deleted" in kept.text
    export = json.loads((await c.alice.slash("privacy export", channel=c.general)).attachments[0].data)
    assert len(export["checkins"]) == 1


async def test_delete_leaves_no_row_anywhere_with_her_id_or_her_text(community: Community) -> None:
    c = community
    thread = await give_alice_everything(c)
    await bot(c).services.safety.record(c.guild.id, c.alice.id, "checkin")
    await send_dm(bot(c), c.alice.id, "a DM, so her DM channel is remembered")
    helper_thread = await open_help_thread(c, c.bob, "bob-body", "bob-wants")
    await bot(c).services.help_requests.claim(
        (await bot(c).services.help_requests.by_thread(helper_thread.id)).id, c.alice.id, is_helper=True
    )
    before = scan_database(str(c.database_path), c.alice.id, ALICE_TEXT)  # the scan does find her before
    assert any(finding.startswith("dm_channels.user_id holds the id") for finding in before)

    prompt = await c.alice.slash("privacy delete", channel=c.general)
    done = await c.alice.click(prompt, "Delete everything")
    assert "Done" in done.text and "2 upcoming calls were cancelled" in done.text

    assert scan_database(str(c.database_path), c.alice.id, ALICE_TEXT) == []
    # Other people's data is untouched.
    assert scan_database(str(c.database_path), c.bob.id, ("bob-note", "bob-body"))
    # Her open help thread is closed with a neutral note.
    closed = c.twin.state.channel(thread.id)
    assert closed is not None and closed.type == PRIVATE_THREAD and closed.archived and closed.locked
    last = c.twin.state.channel_messages(thread.id)[-1]
    assert "This thread is closed" in last.content and "delete" not in last.content.lower()
    # Both people she had calls with are told, by DM.
    assert any("was cancelled" in dm.text for dm in c.carol.dms())
    assert any("was cancelled" in dm.text for dm in c.bob.dms())
    # The nameless reach-out notice with her shared note is gone from the helper queue.
    c.twin.assert_only_visible_to(SHARED_NOTE, allowed=[c.alice])
    assert not any(SHARED_NOTE in v.text for v in c.twin.visible_to(c.helper))
    again = await c.alice.slash("privacy show", channel=c.general)
    assert "Nothing about you is stored" in again.text


async def test_delete_button_works_after_a_restart(community: Community) -> None:
    c = community
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    await c.restart()
    await c.alice.click(prompt, "Delete everything")
    assert scan_database(str(c.database_path), c.alice.id, (NOTE,)) == []


# --- retention --------------------------------------------------------------------------------------------------------


async def test_daily_pass_purges_old_checkins_and_closed_request_text_by_server_settings(community: Community) -> None:
    c = community
    services = bot(c).services
    async with bot(c).db.transaction() as conn:
        await guilds.update_settings(
            conn, guild_id=c.guild.id, changes={"checkin_retention_days": 30}, now=c.clock.now()
        )
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note="old-note")
    thread = await open_help_thread(c, c.bob, "old-body", "old-wants")
    request = await services.help_requests.by_thread(thread.id)
    await services.help_requests.close(request.id, c.bob.id, "asker")
    c.clock.advance(days=29)
    await c.alice.slash("checkin", channel=c.general, status="On track", note="new-note")
    await daily(c)
    assert holds(c, "old-note")  # 29 days: kept

    c.clock.advance(days=2)
    await daily(c)  # the next daily pass
    assert not holds(c, "old-note")
    assert holds(c, "new-note")
    assert holds(c, "old-body")  # closed 31 days ago, default 180

    c.clock.advance(days=150)
    await daily(c)
    assert not holds(c, "old-body", "old-wants")
    anonymous = await services.help_requests.get(request.id)
    assert anonymous is not None and anonymous.asker_id is None and anonymous.status == "closed"


# --- leaving and coming back ------------------------------------------------------------------------------------------


async def test_member_who_left_loses_calls_threads_and_card_then_data_after_grace(community: Community) -> None:
    c = community
    thread = await give_alice_everything(c)
    # A card posted straight into the twin, so this test needs nothing of the mentors cog's booking flow.
    roster = c.twin.post_message(c.roster, c.app.bot, {"content": "alice's card"})
    await bot(c).services.mentors.set_roster_message(c.guild.id, c.alice.id, roster.id)
    c.twin.leave(c.guild, c.alice)
    c.clock.advance(days=1)
    await daily(c)  # the daily pass reconciles: alice is Unknown Member now

    closed = c.twin.state.channel(thread.id)
    assert closed is not None and closed.archived and closed.locked
    assert any("was cancelled" in dm.text for dm in c.carol.dms())
    assert any("was cancelled" in dm.text for dm in c.bob.dms())
    assert c.twin.state.messages[roster.id].deleted
    assert scan_database(str(c.database_path), c.alice.id, (NOTE,))  # kept during the grace period

    c.clock.advance(days=30)
    await daily(c)
    assert scan_database(str(c.database_path), c.alice.id, ALICE_TEXT) == []


async def test_member_who_returns_within_grace_keeps_their_data(community: Community) -> None:
    c = community
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    c.twin.leave(c.guild, c.alice)
    c.clock.advance(days=1)
    await daily(c)
    assert await bot(c).services.privacy.is_departed(c.guild.id, c.alice.id)
    c.twin.join(c.guild, c.alice)
    c.clock.advance(days=1)
    await daily(c)
    assert not await bot(c).services.privacy.is_departed(c.guild.id, c.alice.id)
    c.clock.advance(days=40)
    await daily(c)
    export = json.loads((await c.alice.slash("privacy export", channel=c.general)).attachments[0].data)
    assert [entry["note"] for entry in export["checkins"]] == [NOTE]


async def test_bot_removed_purges_the_servers_data_after_thirty_days(community: Community) -> None:
    c = community
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    c.twin.remove_bot(c.guild, c.app)
    for _ in range(50):
        if await bot(c).services.privacy.db.conn.execute_fetchall(
            "SELECT 1 FROM guild_presence WHERE guild_id = ? AND removed_at IS NOT NULL", (c.guild.id,)
        ):
            break
        await _tick()
    c.clock.advance(days=29)
    await daily(c)
    assert scan_database(str(c.database_path), c.alice.id, (NOTE,))
    c.clock.advance(days=2)
    await daily(c)
    assert scan_database(str(c.database_path), c.alice.id, (NOTE,)) == []
    rows = await bot(c).db.conn.execute_fetchall("SELECT count(*) FROM guild_config WHERE guild_id = ?", (c.guild.id,))
    assert list(rows)[0][0] == 0


async def _tick() -> None:
    await asyncio.sleep(0.02)
