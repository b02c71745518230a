"""The anonymous-ask scene of `make demo`: bob asks without showing his name, hugo answers through Porchlight, bob
answers by DM and closes it from there; nobody but bob ever learns it was him."""

from __future__ import annotations

from demo.community import Community, final_answer
from demo.help_scene import _until
from demo.transcript import Transcript
from twin.people import MessageView, Modal

BODY = "My manager doesn't know I'm job hunting and I have a final interview during work hours on Thursday."
HIS_WORDS = "It's a 90-minute panel, 2pm. I can't say it's a doctor's appointment again."


async def asking_anonymously(c: Community, t: Transcript) -> None:
    t.heading("An anonymous ask: bob asks without his name, hugo helps, bob stays unknown")
    t.action(c.bob, "/ask topic:Interviews anonymous:True")
    form = await c.bob.slash("ask", channel=c.general, topic="interviews", anonymous=True)
    assert isinstance(form, Modal)
    t.action(c.bob, "fills in the form and submits")
    wants = "how to ask for the time off"
    await final_answer(await c.bob.submit_modal(form, {"What's going on?": BODY, "What would help most?": wants}))
    t.flush()
    thread = max((ch for ch in c.guild.threads() if ch.name.startswith("help-")), key=lambda ch: ch.id)  # the newest
    card = next(
        MessageView(c.twin, m.id)
        for m in reversed(c.twin.state.channel_messages(c.queue.id))
        if m.embeds and "Anonymous" in MessageView(c.twin, m.id).text
    )
    t.action(c.helper2, "clicks “Claim” on the card in #helper-queue")
    await c.helper2.click(card, "Claim")
    t.flush()
    question = "How long is it, and is it remote? There are honest ways to take the time."
    t.action(c.helper2, f"/reply text:“{question}”")
    await c.helper2.slash("reply", channel=thread, text=question)
    t.flush()
    relayed = c.bob.dms()[-1]
    t.action(c.bob, f"replies to Porchlight's DM: “{HIS_WORDS}”")
    await c.bob.dm(c.app, HIS_WORDS, reply_to=relayed)
    await _until(lambda: any(HIS_WORDS[:20] in m.content for m in c.twin.state.channel_messages(thread.id)))
    t.flush()
    desk = next(dm for dm in c.bob.dms() if "anonymous** help request" in dm.text)
    t.action(c.bob, "clicks “Close” in that first DM")
    await c.bob.click(desk, "Close")
    await _until(lambda: thread.locked and any("Did this help?" in dm.text for dm in c.bob.dms()))
    t.flush()

    t.heading("Who can tell it was bob")
    t.note("his mention and his id, in every message each member can see:")
    t.sweep((c.bob.mention, str(c.bob.id)), owner=c.bob, people=c.members, allowed={})
    t.heading("Where bob's own words reached")
    staff = "staff with Manage Threads may open private threads"
    t.sweep(
        HIS_WORDS[:30],
        owner=c.bob,
        people=c.members,
        allowed={c.helper2: "he claimed it", c.admin: staff, c.mod: staff},
    )
