"""`make demo`: the real Porchlight bot against the local Discord twin, a fresh SQLite file, and a short script.

Nothing here talks to Discord. The twin serves Discord's REST API and gateway on 127.0.0.1; the bot is the same
PorchlightBot that `make run` starts, with an unmodified discord.py.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot import invite_url
from demo.admin_scene import moderator_stats, tuning_a_setting
from demo.anonymous_scene import asking_anonymously
from demo.community import Community, community
from demo.help_scene import asking_for_help
from demo.mentor_scene import booking_a_call
from demo.transcript import Transcript


async def run_demo() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.ERROR)  # no voice support warnings in the transcript
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="porchlight-demo-") as tmp:
        database = Path(tmp) / "porchlight.db"
        async with community(database, configure=False) as c:
            transcript = Transcript(c.twin, c.members, anyone=c.dave, now=c.clock.now)
            print("Porchlight demo: the real bot on a local Discord twin (HTTP + websocket on 127.0.0.1).")
            clock = f"{c.clock.now():%a %d %b %H:%M} UTC"
            print(f"Server '{c.guild.name}', a fresh SQLite file, the clock at {clock}.")
            print(f"Invite URL the bot would print for real Discord: {invite_url(c.app.id)}")
            await setting_up(c, transcript)
            await tuning_a_setting(c, transcript)
            await checking_in(c, transcript)
            await asking_for_help(c, transcript)
            await asking_anonymously(c, transcript)
            await booking_a_call(c, transcript)
            await moderator_stats(c, transcript)
        if c.twin.violations:
            print("\nThe twin recorded requests Discord would reject:")
            for violation in c.twin.violations:
                print(f"  - {violation}")
            return 1
    print(
        f"\nDone in {time.perf_counter() - started:.1f} s: {transcript.lines} bot messages, no Discord account needed."
    )
    return 0


async def setting_up(c: Community, t: Transcript) -> None:
    t.heading("An admin sets Porchlight up")
    t.note("Discord shows /setup only to members with Manage Server; Porchlight checks it again itself.")
    t.action(c.admin, "/setup channels help:#ask-for-help queue:#helper-queue roster:#mentor-roster")
    await c.admin.slash("setup channels", channel=c.general, help=c.help, queue=c.queue, roster=c.roster)
    t.flush()
    t.action(c.admin, "/setup roles helper:@Helpers mentor:@Mentors moderator:@Mods")
    await c.admin.slash("setup roles", channel=c.general, helper=c.helpers, mentor=c.mentors, moderator=c.mods)
    t.flush()


async def checking_in(c: Community, t: Transcript) -> None:
    t.heading("Private check-ins: alice looks fine in public, but she is stuck")
    t.action(c.alice, '/checkin status:Stuck note:"40 applications, 2 replies, 0 interviews"')
    reply = await c.alice.slash(
        "checkin", channel=c.general, status="stuck", note="40 applications, 2 replies, 0 interviews"
    )
    t.flush()
    t.action(c.alice, "clicks “Not now”")
    await c.alice.click(reply, "Not now")
    t.flush()
    t.action(c.bob, "/checkin status:On track")
    await c.bob.slash("checkin", channel=c.general, status="on_track")
    t.flush()
    t.action(c.alice, "/reminders checkin every:weekdays time:08:30 timezone:Europe/Berlin")
    await c.alice.slash(
        "reminders checkin", channel=c.general, every="weekdays", time="08:30", timezone="Europe/Berlin"
    )
    t.flush()

    t.heading("Three days later: the follow-up arrives by DM")
    c.clock.advance(timedelta(days=3))
    t.note(f"clock moved to {c.clock.now():%a %d %b %H:%M} UTC; due jobs run")
    t.note("alice's weekday reminder is due as well: it gives way to the follow-up, which asks the same, so one DM")
    await c.run_jobs()
    t.flush()
    followup = next(dm for dm in reversed(c.alice.dms()) if dm.buttons)
    t.action(c.alice, "clicks “In a rut” in the DM")
    await c.alice.click(followup, "In a rut")
    t.flush()
    t.action(c.alice, "/checkin-history")
    await c.alice.slash("checkin-history", channel=c.general)
    t.flush()

    t.heading("What everyone else can see of alice's check-ins")
    t.sweep("40 applications, 2 replies, 0 interviews", owner=c.alice, people=c.members, allowed={})
    t.action(c.helper, "/pulse  (helpers see anonymous counts only)")
    await c.helper.slash("pulse", channel=c.general)
    t.flush()
