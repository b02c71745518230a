"""The help-request scene of `make demo`: a member asks privately, a helper claims it, they talk, the member closes
it and says thank you. Wired into demo/run.py by the lead."""

from __future__ import annotations

import asyncio

from demo.community import Community, final_answer
from demo.transcript import Transcript
from twin.people import MessageView, Modal

BODY = "I freeze when recruiters ask about the 8-month gap on my CV. I've rehearsed, but it still comes out wrong."
WANTS = "someone to practise the gap answer with"


async def asking_for_help(c: Community, t: Transcript) -> None:
    t.heading("A private help request: alice asks, hana helps, nobody else sees it")
    t.action(c.alice, "/ask topic:Interviews")
    form = await c.alice.slash("ask", channel=c.general, topic="interviews")
    assert isinstance(form, Modal)
    t.note(f"a form opens: {', '.join(label for label, _ in form.inputs)}")
    t.action(c.alice, "fills it in and submits")
    await final_answer(await c.alice.submit_modal(form, {"What's going on?": BODY, "What would help most?": WANTS}))
    t.flush()
    thread = next(ch for ch in c.guild.threads() if ch.name.startswith("help-"))
    card = next(MessageView(c.twin, m.id) for m in reversed(c.twin.state.channel_messages(c.queue.id)) if m.embeds)
    t.action(c.helper, "clicks “Claim” on the card in #helper-queue")
    await c.helper.click(card, "Claim")
    t.flush()
    t.action(c.alice, "in the thread: “The gap was caring for my dad. I never know how much to say.”")
    await c.alice.say(thread, "The gap was caring for my dad. I never know how much to say.")
    t.action(c.helper, "in the thread: “One sentence, then pivot to what you did since. Let's try it on a call.”")
    await c.helper.say(thread, "One sentence, then pivot to what you did since. Let's try it on a call.")
    t.action(c.alice, '/close note:"Practised it twice, feels much better"')
    await c.alice.slash("close", channel=thread, note="Practised it twice, feels much better")
    await _until(lambda: thread.locked and any("Did this help?" in dm.text for dm in c.alice.dms()))
    t.flush()
    feedback = next(dm for dm in reversed(c.alice.dms()) if "Did this help?" in dm.text)
    t.action(c.alice, "clicks “Yes, it helped”, then “Send a thank-you”")
    await c.alice.click(feedback, "Yes, it helped")
    thanks = await c.alice.click(feedback, "Send a thank-you")
    assert isinstance(thanks, Modal)
    await c.alice.submit_modal(
        thanks, {"thanks": "Thank you Hana — I said it out loud and it didn't sound like an excuse."}
    )
    t.flush()

    t.heading("What everyone else can see of alice's request")
    staff = "staff with Manage Threads may open private threads"
    t.sweep(
        "8-month gap",
        owner=c.alice,
        people=c.members,
        allowed={c.helper: "she claimed it", c.admin: staff, c.mod: staff},
    )
    mentions = c.twin.state.role_mention_adds
    t.note(f"roles mentioned inside the thread: {len(mentions) or 'none'}")


async def _until(check: object, within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    # The bot archives the thread and DMs after answering /close; the demo waits for that, briefly.
    while not check() and loop.time() < deadline:  # type: ignore[operator]  # noqa: ASYNC110
        await asyncio.sleep(0.02)
