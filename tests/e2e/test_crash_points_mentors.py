"""The real bot process killed with SIGKILL at every side-effect boundary of a mentor signup, the moderator's
approval and a booking accept, then restarted on the same database: at every point exactly one application card,
one approval edit, the role given, one approval DM, one roster card and one confirmation DM (with one invite) per
person; the member's action is either confirmed and present, or was never confirmed.

The ``world`` fixture and ``crash_after`` come from ``test_crash_points`` (a boundary is "Discord did the work, the
bot has not heard back").
"""

from __future__ import annotations

from typing import Any

import pytest

from demo.community import Community
from tests.e2e.test_crash_points import World, crash_after, settle, world
from tests.e2e.test_mentors import PHONE, WINDOWS, request_call
from twin.people import MessageView, Modal, Person

__all__ = ["world"]  # the fixture, shared with test_crash_points

HEADLINE = "Eng manager, fintech, 12 years"


async def open_signup(c: Community, person: Person) -> Modal:
    form = await person.slash(
        "mentor signup",
        channel=c.general,
        timezone="Europe/London",
        windows=WINDOWS,
        call_minutes=15,
        contact="they_call_me",
    )
    assert isinstance(form, Modal), form
    return form


async def submit_signup(person: Person, form: Modal) -> Any:
    values = {
        "Headline": HEADLINE,
        "Topics (comma-separated)": "Interviews, Career change",
        "Phone number (only booked members get it)": PHONE,
    }
    return await person.submit_modal(form, values)


def applications(c: Community) -> list[MessageView]:
    live = [m for m in c.twin.state.channel_messages(c.queue.id) if not m.deleted]
    return [card for card in (MessageView(c.twin, m.id) for m in live) if "Mentor application" in card.text]


def roster_cards(c: Community) -> list[MessageView]:
    live = [m for m in c.twin.state.channel_messages(c.roster.id) if not m.deleted and m.ephemeral_for is None]
    return [MessageView(c.twin, m.id) for m in live]


def dms_saying(person: Person, text: str) -> list[MessageView]:
    return [dm for dm in person.dms() if text in dm.text]


def invites(message: MessageView) -> list[Any]:
    return [a for a in message.attachments if a.filename.endswith(".ics")]


# --- signup ----------------------------------------------------------------------------------------------------------

SIGNUP_BOUNDARIES = [
    ("POST", "/channels/{channel_id}/messages"),  # the application is in the helper queue, its id not stored
    ("PATCH", "/webhooks/*/messages/@original"),  # the mentor was answered
]


@pytest.mark.parametrize(("method", "pattern"), SIGNUP_BOUNDARIES)
async def test_signup_killed_after_each_effect_ends_with_one_application_card(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    form = await open_signup(c, c.bob)
    answer = await crash_after(w, method, pattern, lambda: submit_signup(c.bob, form))
    await settle(lambda: len(applications(c)) == 1, "the application card")
    [card] = applications(c)
    assert HEADLINE in card.text and [b["label"] for b in card.buttons] == ["Approve", "Decline"]
    if answer is not None:
        assert "moderator will look" in answer.content


async def test_signup_killed_after_the_deferral_has_the_profile_or_never_confirmed_it(world: World) -> None:
    w, c = world, world.c
    form = await open_signup(c, c.bob)
    answer = await crash_after(w, "POST", "/interactions/*/callback", lambda: submit_signup(c.bob, form))
    assert answer is None  # never confirmed
    again = await submit_signup(c.bob, await open_signup(c, c.bob))  # and nothing half-made stops a retry
    assert "moderator will look" in again.content
    await settle(lambda: len(applications(c)) == 1, "one application card")


# --- approval --------------------------------------------------------------------------------------------------------

APPROVAL_BOUNDARIES = [
    ("POST", "/interactions/*/callback"),  # the approval is recorded and acknowledged
    ("PATCH", "/channels/*/messages/*"),  # the application says "Approved by"
    ("PUT", "/guilds/*/members/*/roles/*"),  # the role is given
    ("POST", "/channels/{channel_id}/messages"),  # the approval DM (then the roster card)
    ("POST", "/channels/{channel_id}/messages", 2),  # the roster card, its id not stored
]


@pytest.mark.parametrize("boundary", APPROVAL_BOUNDARIES)
async def test_approval_killed_after_each_effect_edits_once_gives_the_role_and_posts_one_card(
    world: World, boundary: tuple[Any, ...]
) -> None:
    w, c = world, world.c
    method, pattern, *nth = boundary
    await submit_signup(c.bob, await open_signup(c, c.bob))
    [card] = applications(c)
    await crash_after(w, method, pattern, lambda: c.mod.click(card, "Approve"), nth=nth[0] if nth else 1)
    if pattern == "/interactions/*/callback":  # killed before the approval was stored: never confirmed
        assert [b["label"] for b in applications(c)[0].buttons] == ["Approve", "Decline"]
        assert roster_cards(c) == [] and c.bob.dms() == []
        await c.mod.click(applications(c)[0], "Approve")  # so the moderator clicks again

    def approved() -> bool:
        return (
            len(applications(c)) == 1
            and "Approved by" in applications(c)[0].text
            and applications(c)[0].buttons == []
            and c.mentors.id in c.bob.member.roles
            and len(dms_saying(c.bob, "approved as a commute-call mentor")) == 1
            and len(roster_cards(c)) == 1
            and c.bob.mention in roster_cards(c)[0].text
        )

    await settle(approved, "the approval")


# --- booking accept --------------------------------------------------------------------------------------------------

ACCEPT_BOUNDARIES = [
    ("POST", "/interactions/*/callback", 1),  # the call is confirmed and the click acknowledged
    ("POST", "/channels/{channel_id}/messages", 1),  # the member's confirmation DM
    ("POST", "/channels/{channel_id}/messages", 2),  # the mentor's confirmation DM
    ("PATCH", "/webhooks/*/messages/@original", 1),  # the mentor was answered
]


async def booked(w: World) -> MessageView:
    """Bob signs up and is approved; alice asks for a call. Returns bob's request DM."""
    c = w.c
    await submit_signup(c.bob, await open_signup(c, c.bob))
    await c.mod.click(applications(c)[0], "Approve")
    await settle(lambda: len(roster_cards(c)) == 1, "bob's roster card")
    answer = await request_call(c, c.alice, roster_cards(c)[0])
    assert "Request sent" in answer.text
    await settle(lambda: any(b.get("label") == "Accept" for dm in c.bob.dms() for b in dm.buttons), "the request")
    return next(dm for dm in c.bob.dms() if any(b.get("label") == "Accept" for b in dm.buttons))


@pytest.mark.parametrize(("method", "pattern", "nth"), ACCEPT_BOUNDARIES)
async def test_accept_killed_after_each_effect_confirms_once_to_each_person_with_one_invite(
    world: World, method: str, pattern: str, nth: int
) -> None:
    w, c = world, world.c
    request = await booked(w)
    answer = await crash_after(w, method, pattern, lambda: c.bob.click(request, "Accept"), nth=nth)
    if pattern == "/interactions/*/callback":  # killed before the accept was stored: never confirmed
        assert dms_saying(c.alice, "is confirmed") == [] and dms_saying(c.bob, "is confirmed") == []
        answer = await c.bob.click(request, "Accept")  # so the mentor clicks again

    def confirmed() -> bool:
        return all(
            len(dms_saying(person, "is confirmed")) == 1 and len(invites(dms_saying(person, "is confirmed")[0])) == 1
            for person in (c.alice, c.bob)
        )

    await settle(confirmed, "the confirmations")
    assert PHONE.replace(" ", "")[-6:] not in dms_saying(c.bob, "is confirmed")[0].text.replace(" ", "")
    if answer is not None:
        assert "You accepted" in answer.content


# --- cancelling ------------------------------------------------------------------------------------------------------

CANCEL_BOUNDARIES = [
    ("POST", "/channels/{channel_id}/messages"),  # the mentor's cancellation DM, with the cancelling invite
    ("PATCH", "alice's DM"),  # the member's confirmation without the number (only there: a roster card refresh
    # edits a message too, and killing at that one could come before the cancellation was even recorded)
    ("PATCH", "/webhooks/*/messages/@original"),  # the member was answered
]


@pytest.mark.parametrize(("method", "pattern"), CANCEL_BOUNDARIES)
async def test_cancel_killed_after_each_effect_tells_the_other_person_once_and_drops_the_number(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    request = await booked(w)
    await c.bob.click(request, "Accept")
    await settle(lambda: bool(dms_saying(c.alice, "is confirmed")), "the confirmation")
    assert "+44" in dms_saying(c.alice, "is confirmed")[0].text

    async def cancel() -> Any:
        calls = await c.alice.slash("calls", channel=c.general)
        form = await c.alice.click(calls, "Cancel 1")
        assert isinstance(form, Modal)
        return await c.alice.submit_modal(form, {"A word for the other person (optional)": ""})

    if pattern == "alice's DM":
        pattern = f"/channels/{c.twin.state.dm_channel(c.alice.user, c.app.bot).id}/messages/*"
    await crash_after(w, method, pattern, cancel)

    def told() -> bool:
        notices = [dm for dm in c.bob.dms() if "cancelled the call" in dm.text]
        return (
            len(notices) == 1
            and len(invites(notices[0])) == 1
            and "+44" not in dms_saying(c.alice, "is confirmed")[0].text
        )

    await settle(told, "the cancellation")
