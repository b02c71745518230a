"""The real bot process killed with SIGKILL at every side-effect boundary of a mentor accepting a move, then
restarted on the same database: at every point each person ends with exactly one "has moved" confirmation with one
updated invite (same UID, SEQUENCE 1), or, killed before the accept was stored, none until the mentor clicks again."""

from __future__ import annotations

from typing import Any

import icalendar
import pytest

from tests.e2e.test_crash_points import World, crash_after, settle, world
from tests.e2e.test_crash_points_mentors import booked, dms_saying, invites
from tests.e2e.test_mentors_moves import ACCEPT, move_request
from twin.people import MessageView

__all__ = ["world"]

MOVE_ACCEPT_BOUNDARIES = [
    ("POST", "/interactions/*/callback", 1),  # the click acknowledged, the move not stored yet
    ("POST", "/channels/{channel_id}/messages", 1),  # the member's updated confirmation
    ("POST", "/channels/{channel_id}/messages", 2),  # the mentor's updated confirmation
    ("PATCH", "/webhooks/*/messages/@original", 1),  # the mentor was answered
]


def event(attachment: Any) -> Any:
    return next(iter(icalendar.Calendar.from_ical(attachment.data).walk("VEVENT")))


@pytest.mark.parametrize(("method", "pattern", "nth"), MOVE_ACCEPT_BOUNDARIES)
async def test_move_accept_killed_after_each_effect_tells_each_person_once_with_one_updated_invite(
    world: World, method: str, pattern: str, nth: int
) -> None:
    w, c = world, world.c
    await c.bob.click(await booked(w), "Accept")
    await settle(lambda: bool(dms_saying(c.alice, "is confirmed")), "the confirmation")
    first_uid = str(event(invites(dms_saying(c.alice, "is confirmed")[0])[0])["uid"])
    calls = await c.alice.slash("calls", channel=c.general)
    picker = await c.alice.click(calls, "Move 1")
    option = picker.selects[0]["options"][-1]["value"]
    asked = await c.alice.select(picker, "Pick a new time", values=[option])
    assert isinstance(asked, MessageView) and "Asked" in asked.text
    await settle(lambda: any(b.get("label") == ACCEPT for dm in c.bob.dms() for b in dm.buttons), "the request")
    request = move_request(c.bob)

    answer = await crash_after(w, method, pattern, lambda: c.bob.click(request, ACCEPT), nth=nth)
    if pattern == "/interactions/*/callback":  # killed before the move was stored: the call has not moved
        assert dms_saying(c.alice, "has moved") == [] and dms_saying(c.bob, "has moved") == []
        answer = await c.bob.click(request, ACCEPT)

    def moved() -> bool:
        return all(
            len(dms_saying(person, "has moved")) == 1 and len(invites(dms_saying(person, "has moved")[0])) == 1
            for person in (c.alice, c.bob)
        )

    await settle(moved, "the updated confirmations", quiet=w)
    for person in (c.alice, c.bob):
        updated = event(invites(dms_saying(person, "has moved")[0])[0])
        assert str(updated["uid"]) == first_uid and int(updated["sequence"]) == 1
        assert int(updated.decoded("dtstart").timestamp()) == int(option)
    if answer is not None:
        assert "You moved the call" in answer.content
