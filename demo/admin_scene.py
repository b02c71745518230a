"""The admin and moderator scenes of `make demo`: an admin tunes one setting (a refused value first, then the
change, before → after), and at the end a moderator looks at /stats (one PNG chart and the same figures as text)."""

from __future__ import annotations

from demo.community import Community
from demo.transcript import Transcript


async def tuning_a_setting(c: Community, t: Transcript) -> None:
    t.heading("The admin tunes Porchlight: closed requests can be reopened for two weeks instead of one")
    t.note("/setup settings lists every setting with its value, default, range and meaning (Manage Server only).")
    t.action(c.admin, "/setup set name:reopen_days value:90")
    await c.admin.slash("setup set", channel=c.general, name="reopen_days", value="90")
    t.flush()
    t.action(c.admin, "/setup set name:reopen_days value:14")
    await c.admin.slash("setup set", channel=c.general, name="reopen_days", value="14")
    t.flush()


async def moderator_stats(c: Community, t: Transcript) -> None:
    t.heading("Is Porchlight helping? maya (moderator) runs /stats")
    t.note("counts under 3 show as “fewer than 3”, in the chart and the text, so nobody can be singled out")
    t.action(c.mod, "/stats")
    await c.mod.slash("stats", channel=c.general)
    t.flush()
