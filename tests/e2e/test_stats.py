"""/stats through the twin: moderators and Manage Server only, ephemeral, one real PNG chart, and text figures that
equal a recount of the seeded rows, with every count under 3 shown as "fewer than 3"."""

from __future__ import annotations

import random
import re
import struct
from datetime import datetime, timedelta

import aiosqlite

from demo.community import Community
from storage.db import to_epoch
from twin.people import MessageView

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STATUSES = ("on_track", "stuck", "rut", "hired")
REASONS = ("asker", "helper", "moderator", "idle", "thread_deleted", "asker_left")


def monday(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def seed(conn: aiosqlite.Connection, guild_id: int, now: datetime, *, members: list[int]) -> None:
    """Ten weeks of history (two of them outside the window), busy weeks and quiet ones."""
    rng = random.Random(12)
    start = monday(now) - timedelta(weeks=9)
    number = 0
    for week in range(10):
        week_start = start + timedelta(weeks=week)
        for _ in range(rng.choice([0, 1, 2, 5, 9, 14])):
            number += 1
            created = week_start + timedelta(minutes=rng.randrange(7 * 24 * 60))
            if created >= now:
                continue
            claimed = created + timedelta(minutes=rng.randrange(10, 60 * 40)) if rng.random() < 0.8 else None
            closed = rng.random() < 0.6
            reason = rng.choice(REASONS) if closed else None
            await conn.execute(
                """INSERT INTO help_requests (guild_id, number, asker_id, topic, body, status, thread_id, source,
                       created_at, last_activity_at, first_claimed_at, closed_at, close_reason, feedback)
                   VALUES (?, ?, ?, 'resume', 'seeded', ?, ?, 'ask', ?, ?, ?, ?, ?, ?)""",
                (
                    guild_id,
                    number,
                    rng.choice(members),
                    "closed" if closed else "open",
                    10_000 + number,
                    to_epoch(created),
                    to_epoch(created),
                    to_epoch(claimed) if claimed and claimed < now else None,
                    to_epoch(created + timedelta(days=1)) if closed else None,
                    reason,
                    rng.choice(["yes", "no", None]) if closed else None,
                ),
            )
        for i in range(rng.choice([0, 2, 4, 8])):
            created = week_start + timedelta(hours=rng.randrange(7 * 24))
            if created >= now:
                continue
            status = rng.choice(["requested", "confirmed", "declined", "expired", "cancelled", "completed"])
            outcome = rng.choice(["happened", "no_show", "rescheduled"]) if status == "completed" else None
            starts = created + timedelta(days=2, minutes=30 * i + 1000 * week)
            mentor, member = rng.sample(members, 2)
            await conn.execute(
                """INSERT INTO bookings (guild_id, mentor_user_id, member_user_id, starts_at, ends_at, status,
                       contact_mode, expires_at, cancelled_by, outcome, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'discord_voice', ?, ?, ?, ?, ?)""",
                (
                    guild_id,
                    mentor,
                    member,
                    to_epoch(starts),
                    to_epoch(starts + timedelta(minutes=15)),
                    status,
                    to_epoch(starts),
                    member if status == "cancelled" else None,
                    outcome,
                    to_epoch(created),
                    to_epoch(created),
                ),
            )
        for member in members:
            for _ in range(rng.choice([0, 1, 3])):
                created = week_start + timedelta(minutes=rng.randrange(7 * 24 * 60))
                if created < now:
                    await conn.execute(
                        "INSERT INTO checkins (guild_id, user_id, status, source, created_at) VALUES (?, ?, ?, ?, ?)",
                        (guild_id, member, rng.choice(STATUSES), "command", to_epoch(created)),
                    )


def safe(count: int) -> str:
    return "fewer than 3" if count < 3 else str(count)


async def recount(conn: aiosqlite.Connection, guild_id: int, now: datetime) -> list[str]:
    """The expected text lines, counted straight from the rows."""
    first = monday(now) - timedelta(weeks=7)
    sections: tuple[list[tuple[datetime, None] | str], ...] = ([], [], [])
    requests = await conn.execute_fetchall(
        "SELECT created_at, first_claimed_at, close_reason, feedback FROM help_requests WHERE guild_id = ?",
        (guild_id,),
    )
    bookings = await conn.execute_fetchall(
        "SELECT created_at, status, outcome FROM bookings WHERE guild_id = ?", (guild_id,)
    )
    checkins = await conn.execute_fetchall(
        "SELECT user_id, status, created_at, id FROM checkins WHERE guild_id = ?", (guild_id,)
    )
    for week in range(8):
        lo, hi = to_epoch(first + timedelta(weeks=week)), to_epoch(first + timedelta(weeks=week + 1))
        start = first + timedelta(weeks=week)
        label = f"week of {start:%d %b}"
        rows = [r for r in requests if lo <= r[0] < hi]
        claimed = sorted(r[1] - r[0] for r in rows if r[1] is not None)
        answered = [r for r in rows if r[1] is not None and r[2] in ("asker", "helper", "moderator")]
        late = [r for r in rows if r[0] <= to_epoch(now) - 86400 and (r[1] is None or r[1] - r[0] > 86400)]
        yes, no = [r for r in rows if r[3] == "yes"], [r for r in rows if r[3] == "no"]
        if len(claimed) >= 3:
            mid = len(claimed) // 2
            seconds = claimed[mid] if len(claimed) % 2 else (claimed[mid - 1] + claimed[mid]) / 2
            minutes = round(seconds / 60)
            hours, rest = divmod(minutes, 60)
            median = f"{minutes} min" if minutes < 60 else (f"{hours} h {rest} min" if rest else f"{hours} h")
        else:
            median = "not shown (fewer than 3)"
        counts = [len(rows), len(claimed), len(answered), len(late), len(yes), len(no)]
        sections[0].append(
            (start, None)
            if max(counts) < 3
            else f"{label}: asked {safe(len(rows))}, claimed {safe(len(claimed))}, answered {safe(len(answered))}, "
            f"unanswered after 24 h {safe(len(late))}, helped: yes {safe(len(yes))}, helped: no {safe(len(no))}, "
            f"median time to first claim {median}"
        )
        calls = [b for b in bookings if lo <= b[0] < hi]
        held = [b for b in calls if b[1] == "completed" and b[2] == "happened"]
        cancelled = [b for b in calls if b[1] == "cancelled"]
        missed = [b for b in calls if b[2] == "no_show"]
        counts = [len(calls), len(held), len(cancelled), len(missed)]
        sections[1].append(
            (start, None)
            if max(counts) < 3
            else f"{label}: requested {safe(len(calls))}, held {safe(len(held))}, cancelled {safe(len(cancelled))}, "
            f"no-shows {safe(len(missed))}"
        )
        latest: dict[int, tuple[int, int, str]] = {}
        for user, status, created, row_id in checkins:
            if lo <= created < hi and (created, row_id) > latest.get(user, (0, 0, ""))[:2]:
                latest[user] = (created, row_id, status)
        by_status = {s: sum(1 for v in latest.values() if v[2] == s) for s in STATUSES}
        sections[2].append(
            (start, None)
            if max(by_status.values()) < 3
            else f"{label}: On track {safe(by_status['on_track'])}, Stuck {safe(by_status['stuck'])}, "
            f"In a rut {safe(by_status['rut'])}, Hired {safe(by_status['hired'])}"
        )
    return [line for section in sections for line in quiet_runs_as_one_line(section)]


def quiet_runs_as_one_line(rows: list[tuple[datetime, None] | str]) -> list[str]:
    """Weeks whose every figure is under 3, in a row, read as one line ("weeks of A to B")."""
    lines: list[str] = []
    run: list[datetime] = []
    for row in [*rows, "end"]:
        if isinstance(row, tuple):
            run.append(row[0])
            continue
        if run:
            span = f"week of {run[0]:%d %b}" if len(run) == 1 else f"weeks of {run[0]:%d %b} to {run[-1]:%d %b}"
            lines.append(f"{span}: every figure fewer than 3")
            run = []
        if row != "end":
            lines.append(row)
    return lines


def assert_no_count_under_3(text: str) -> None:
    """Every figure reads "<name> <n>" with n >= 3, or "<name> fewer than 3" (the median is a duration)."""
    for line in text.splitlines():
        _, figures = line.split(": ", 1)
        for figure in figures.split(", "):
            if figure.startswith(("median time to first claim", "every figure")) or figure.endswith("fewer than 3"):
                continue
            assert re.fullmatch(r"[A-Za-z :\-0-9]+ (\d+)", figure), figure
            assert int(figure.rsplit(" ", 1)[1]) >= 3, line


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_stats_shows_a_real_png_and_text_that_equals_a_recount_of_the_rows(community: Community) -> None:
    c = community
    assert c.bot is not None
    members = [p.id for p in c.members]
    await seed(c.bot.db.conn, c.guild.id, c.clock.now(), members=members)

    answer = await c.mod.slash("stats", channel=c.general)
    assert isinstance(answer, MessageView) and answer.ephemeral
    [chart] = answer.attachments
    assert chart.filename == "porchlight-stats.png"
    assert chart.description and "under 3" in chart.description  # alt text for screen readers
    width, height = png_size(chart.data)
    assert (width, height) == (800, 720)
    assert 10_000 < len(chart.data) < 1_000_000

    text = "\n".join(e.get("description", "") for e in answer.embeds)
    expected = await recount(c.bot.db.conn, c.guild.id, c.clock.now())
    assert sorted(text.splitlines()) == sorted(expected)
    mixed = [line for line in text.splitlines() if "fewer than 3," in line and re.search(r"[a-z] \d{1,3},", line)]
    assert mixed, "the seed should give weeks with both shown and hidden figures"
    assert "every figure fewer than 3" in text  # and quiet weeks
    assert_no_count_under_3(text)


async def test_stats_on_a_quiet_server_shows_fewer_than_3_everywhere(community: Community) -> None:
    c = community
    await c.alice.slash("checkin", channel=c.general, status="Stuck")
    answer = await c.admin.slash("stats", channel=c.general)
    text = "\n".join(e.get("description", "") for e in answer.embeds)
    quiet = "every figure fewer than 3"
    assert text.count(quiet) == 3  # the 8 weeks as one line in each of the 3 sections
    assert all(line.startswith("weeks of ") and line.endswith(quiet) for line in text.splitlines())
    assert_no_count_under_3(text)
    assert png_size(answer.attachments[0].data) == (800, 720)


async def test_stats_is_refused_to_members_and_helpers(community: Community) -> None:
    c = community
    for person in (c.alice, c.helper):
        refused = await person.slash("stats", channel=c.general)
        assert refused.ephemeral
        assert "moderators" in refused.text
        assert refused.attachments == []


async def test_stats_reply_is_seen_by_the_moderator_only(community: Community) -> None:
    c = community
    await c.mod.slash("stats", channel=c.general)
    c.twin.assert_only_visible_to("median time to first claim", allowed=[c.mod])
