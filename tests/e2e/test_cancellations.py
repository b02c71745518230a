"""One cancellation path: whatever cancels a call (/calls, /mentor leave, /privacy delete, a member who left), the
other person gets the same DM and a METHOD:CANCEL invite that supersedes the confirmation's."""

from __future__ import annotations

import pytest

from demo.community import Community
from tests.e2e.test_mentors import cancel_from_calls, confirmation_dm, confirmed_call, event, invite
from tests.e2e.test_privacy import daily
from twin.people import MessageView, Person


def cancellation_dm(person: Person) -> MessageView:
    return next(dm for dm in reversed(person.dms()) if "cancel" in dm.text.lower() and dm.attachments)


def assert_cancels_the_confirmed_invite(person: Person) -> MessageView:
    notice = cancellation_dm(person)
    cancel, first = invite(notice), invite(confirmation_dm(person))
    assert str(cancel["method"]) == "CANCEL"
    assert str(event(cancel)["uid"]) == str(event(first)["uid"])
    assert int(event(cancel)["sequence"]) > int(event(first)["sequence"])
    assert "removes it from your calendar" in notice.text
    return notice


async def delete_data(c: Community, person: Person) -> None:
    prompt = await person.slash("privacy delete", channel=c.general)
    await person.click(prompt, "Delete everything")


async def leave_server(c: Community, person: Person) -> None:
    c.twin.leave(c.guild, person)
    c.clock.advance(days=1)
    await daily(c)


@pytest.mark.parametrize("who", ["member", "mentor"])
async def test_privacy_delete_sends_the_other_person_the_cancel_invite(community: Community, who: str) -> None:
    c = community
    await confirmed_call(c, c.carol, c.alice)
    gone, told = (c.alice, c.carol) if who == "member" else (c.carol, c.alice)
    await delete_data(c, gone)
    notice = assert_cancels_the_confirmed_invite(told)
    assert "cancelled by the other person" in notice.text
    assert gone.mention not in notice.text and str(gone.id) not in notice.text  # it outlives her: no id in it
    c.twin.assert_only_visible_to(notice.text, allowed=[told])


@pytest.mark.parametrize("who", ["member", "mentor"])
async def test_a_member_who_left_has_the_other_person_sent_the_cancel_invite(community: Community, who: str) -> None:
    c = community
    await confirmed_call(c, c.carol, c.alice)
    gone, told = (c.alice, c.carol) if who == "member" else (c.carol, c.alice)
    await leave_server(c, gone)
    notice = assert_cancels_the_confirmed_invite(told)
    assert "no longer in the server" in notice.text
    assert str(gone.id) not in notice.text
    c.twin.assert_only_visible_to(notice.text, allowed=[told])


CAUSES = ["calls", "mentor leave", "privacy delete", "left the server"]


@pytest.mark.parametrize("cause", CAUSES)
async def test_every_cause_tells_the_member_once_with_the_cancel_invite(community: Community, cause: str) -> None:
    """The mentor (carol) ends the call four different ways; alice gets one DM each time, with the update."""
    c = community
    await confirmed_call(c, c.carol, c.alice)
    before = len(c.alice.dms())
    if cause == "calls":
        await cancel_from_calls(c, c.carol, "")
    elif cause == "mentor leave":
        await c.carol.click(await c.carol.slash("mentor leave", channel=c.general), "Leave the roster")
    elif cause == "privacy delete":
        await delete_data(c, c.carol)
    else:
        await leave_server(c, c.carol)
    new = c.alice.dms()[before:]
    assert len(new) == 1, [dm.text for dm in new]
    notice = assert_cancels_the_confirmed_invite(c.alice)
    assert notice.id == new[0].id and "<t:" in notice.text
    c.twin.assert_only_visible_to(notice.text, allowed=[c.alice])
    # Nothing more arrives for the cancelled call: no reminder, no after-call question.
    c.clock.advance(days=8)
    await c.run_jobs()
    assert not any("Reminder" in dm.text or "Did your call" in dm.text for dm in c.alice.dms()[before:])
