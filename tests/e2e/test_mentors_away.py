"""Mentors away or travelling, through the twin: /mentor away hides the slots on those dates and flags calls already
booked then with a one-click cancel with notice; /mentor travel reads the weekly windows in the travel zone, across
its daylight-saving switch; /mentor away-list shows and removes ranges; bad dates are refused, privately, with what
to type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from demo.community import Community
from tests.e2e.test_mentors import approved_mentor, confirmation_dm, confirmed_call, event, invite, roster_cards
from tests.e2e.test_mentors_moves import free_starts
from twin.people import MessageView, Person


def days_of(starts: list[int]) -> set[date]:
    return {datetime.fromtimestamp(s, UTC).date() for s in starts}


async def set_away(person: Person, c: Community, first: str, last: str) -> MessageView:
    answer = await person.slash("mentor away", channel=c.general, **{"from": first, "to": last})
    assert isinstance(answer, MessageView) and answer.ephemeral
    return answer


async def test_away_hides_those_dates_and_flags_a_booked_call_whose_cancel_tells_the_member(
    community: Community,
) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    start = event(invite(confirmation_dm(c.alice))).decoded("dtstart")
    day = start.date()  # London is on GMT in November: the UTC date is the local date
    answer = await set_away(c.bob, c, day.isoformat(), (day + timedelta(days=1)).isoformat())
    assert "You're away" in answer.text and "1 call already booked" in answer.text
    offered = days_of(await free_starts(c, c.carol))
    assert day not in offered and day + timedelta(days=1) not in offered
    assert day + timedelta(days=4) in offered or day + timedelta(days=5) in offered  # the next weekdays stay

    flag = next(dm for dm in c.bob.dms() if "You're away" in dm.text)
    assert c.alice.mention in flag.text and [b["label"] for b in flag.buttons] == ["Cancel 1 with notice"]
    done = await c.bob.click(flag, "Cancel 1 with notice")
    assert done.ephemeral and "Cancelled the call" in done.text
    notice = next(dm for dm in c.alice.dms() if "is away then" in dm.text)
    assert str(invite(notice)["method"]) == "CANCEL"
    assert (await c.alice.slash("calls", channel=c.general)).text.startswith("You have no upcoming calls")
    again = await c.bob.click(flag, "Cancel 1 with notice")  # a second click changes nothing
    assert sum("is away then" in dm.text for dm in c.alice.dms()) == 1 and again.ephemeral
    for text in ("You're away", "Cancel 1 with notice"):
        c.twin.assert_only_visible_to(text, [c.bob])


async def test_travel_across_new_yorks_spring_forward_keeps_0730_on_the_mentors_wall_clock(
    community: Community,
) -> None:
    """Home London (GMT until 28 Mar 2027); in New York 10-19 Mar 2027, across its switch to EDT on 14 Mar."""
    c = community
    c.clock.advance(datetime(2027, 3, 8, 9, tzinfo=UTC) - c.clock.now())  # a Monday
    await approved_mentor(c, c.bob)
    answer = await c.bob.slash(
        "mentor travel", channel=c.general, **{"from": "2027-03-10", "to": "2027-03-19", "timezone": "New York"}
    )
    assert answer.ephemeral and "America/New_York" in answer.text
    starts = [datetime.fromtimestamp(s, UTC) for s in await free_starts(c, c.alice)]
    firsts = {s.date(): s for s in reversed(starts)}  # the first slot of each day
    assert firsts[date(2027, 3, 9)].time().isoformat() == "07:30:00"  # at home: 07:30 GMT
    assert firsts[date(2027, 3, 12)].time().isoformat() == "12:30:00"  # New York, EST: 07:30 = 12:30 UTC
    assert firsts[date(2027, 3, 15)].time().isoformat() == "11:30:00"  # New York, EDT: 07:30 = 11:30 UTC
    assert set(firsts) == {date(2027, 3, d) for d in (9, 10, 11, 12, 15, 16, 17)}

    listing = await c.bob.slash("mentor away-list", channel=c.general)
    assert "in America/New_York 2027-03-10 to 2027-03-19" in listing.text
    removed = await c.bob.click(listing, "Remove 1")
    assert "Removed" in removed.text and removed.buttons == []
    home = [datetime.fromtimestamp(s, UTC) for s in await free_starts(c, c.alice)]
    assert {s.time().isoformat() for s in home} <= {"07:30:00", "07:45:00", "08:00:00", "08:15:00"}


async def test_bad_dates_and_zones_are_refused_privately_with_what_to_type(community: Community) -> None:
    c = community
    not_yet = await set_away(c.carol, c, "2026-12-01", "2026-12-02")
    assert "not a mentor" in not_yet.text
    await approved_mentor(c, c.bob)
    cases = [
        (("next week", "2026-12-02"), "Use YYYY-MM-DD"),
        (("2026-12-05", "2026-12-01"), "before `from`"),
        (("2026-11-01", "2026-11-30"), "already passed"),
        (("2026-12-01", "2027-06-01"), "at most 90"),
        (("2026-02-30", "2026-12-01"), "Use YYYY-MM-DD"),
    ]
    for (first, last), said in cases:
        answer = await set_away(c.bob, c, first, last)
        assert said in answer.text, (first, last, answer.text)
    ok = await set_away(c.bob, c, "2026/12/1", "2026.12.3")  # forgiving separators and one-digit days
    assert "You're away 2026-12-01 to 2026-12-03" in ok.text
    overlap = await set_away(c.bob, c, "2026-12-03", "2026-12-04")
    assert "overlaps your range away 2026-12-01 to 2026-12-03" in overlap.text
    home = await c.bob.slash(
        "mentor travel", channel=c.general, **{"from": "2026-12-10", "to": "2026-12-12", "timezone": "Europe/London"}
    )
    assert home.ephemeral and "already your time zone" in home.text
    nowhere = await c.bob.slash(
        "mentor travel", channel=c.general, **{"from": "2026-12-10", "to": "2026-12-12", "timezone": "Atlantis"}
    )
    assert nowhere.ephemeral and "Atlantis" in nowhere.text
    listing = await c.bob.slash("mentor away-list", channel=c.general)
    assert listing.text.count("`1.`") == 1 and "`2.`" not in listing.text


async def test_the_roster_card_and_the_slot_picker_agree_while_away(community: Community) -> None:
    c = community
    await approved_mentor(c, c.bob)
    before = days_of(await free_starts(c, c.alice))
    first = min(before)
    await set_away(c.bob, c, first.isoformat(), (first + timedelta(days=2)).isoformat())
    after = days_of(await free_starts(c, c.alice))
    assert not any(first <= d <= first + timedelta(days=2) for d in after)
    assert after >= {d for d in before if not first <= d <= first + timedelta(days=2)}  # the rest, and later days
    assert roster_cards(c)  # the card is still listed (it refreshes within a minute)
