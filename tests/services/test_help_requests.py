"""HelpRequestService on a real SQLite file, the real migrations and the real job dispatcher, with a pinned clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from services.clock import ManualClock
from services.errors import NotConfigured
from services.help_requests import (
    ESCALATE_JOB,
    IDLE_JOB,
    BodyTooLong,
    CloseReason,
    CloseRefused,
    Cooldown,
    EmptyBody,
    Escalation,
    HelpersFull,
    HelpNotConfigured,
    HelpRequestService,
    IdleAction,
    IdleOutcome,
    NotAHelper,
    ReopenRefused,
    RequestClosed,
    RequestNotReady,
    TooManyOpen,
    WantsTooLong,
    queue_card,
    request_id_of,
)
from services.jobs import JobDispatcher, JobKind
from storage import guilds
from storage import jobs as jobs_store
from storage.db import Database, to_epoch
from storage.help_requests import HelpRequest
from storage.jobs import Job

START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
GUILD, OTHER_GUILD = 2001, 2002
HELP_CHANNEL, QUEUE_CHANNEL, ROSTER_CHANNEL = 301, 302, 303
HELPER_ROLE, MENTOR_ROLE, MOD_ROLE = 401, 402, 403
ASKER, HELPER, HELPER_2, HELPER_3, MOD, STRANGER = 21, 22, 23, 24, 25, 26
BODY = "I've sent 80 applications since March and heard nothing back."


@dataclass
class HelpWorld:
    db: Database
    clock: ManualClock
    dispatcher: JobDispatcher
    help: HelpRequestService
    escalations: list[Escalation | None] = field(default_factory=list)
    idles: list[IdleOutcome] = field(default_factory=list)
    next_thread: int = 9000

    async def ask(
        self, asker: int = ASKER, *, key: str | None = None, guild: int = GUILD, thread: bool = True
    ) -> HelpRequest:
        outcome = await self.help.open_request(guild, asker, "interviews", BODY, "A mock interview", key)
        if not thread:
            return outcome.request
        self.next_thread += 1
        return await self.help.attach_thread(outcome.request.id, self.next_thread, self.next_thread + 50000)

    async def run_at(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.dispatcher.run_due()


async def _configure(db: Database, guild_id: int, clock: ManualClock, **settings: object) -> None:
    async with db.transaction() as conn:
        await guilds.set_channels(
            conn,
            guild_id=guild_id,
            help_channel_id=HELP_CHANNEL,
            queue_channel_id=QUEUE_CHANNEL,
            roster_channel_id=ROSTER_CHANNEL,
            now=clock.now(),
        )
        await guilds.set_roles(
            conn,
            guild_id=guild_id,
            helper_role_id=HELPER_ROLE,
            mentor_role_id=MENTOR_ROLE,
            moderator_role_id=MOD_ROLE,
            now=clock.now(),
        )
        if settings:
            await guilds.update_settings(conn, guild_id=guild_id, changes=settings, now=clock.now())


def _wire(db: Database, clock: ManualClock) -> HelpWorld:
    dispatcher = JobDispatcher(db, clock, worker="test")
    world = HelpWorld(db, clock, dispatcher, HelpRequestService(db, dispatcher, clock))

    async def on_escalate(job: Job) -> None:
        world.escalations.append(await world.help.escalate(request_id_of(job)))

    async def on_idle(job: Job) -> None:
        world.idles.append(await world.help.idle_check(request_id_of(job)))

    dispatcher.register(JobKind(ESCALATE_JOB, on_escalate))
    dispatcher.register(JobKind(IDLE_JOB, on_idle))
    return world


@pytest.fixture
def help_db(db: Database) -> Database:
    return db


@pytest.fixture
async def world(help_db: Database) -> HelpWorld:
    clock = ManualClock(START)
    await _configure(help_db, GUILD, clock)
    return _wire(help_db, clock)


def _applied(world: HelpWorld) -> list[Escalation]:
    return [e for e in world.escalations if e is not None]


async def _pending_jobs(world: HelpWorld, kind: str, request_id: int) -> list[Job]:
    return [j for j in await jobs_store.pending(world.db.conn, kind=kind) if request_id_of(j) == request_id]


# -- asking ----------------------------------------------------------------------------------------------------------


async def test_same_submit_key_returns_the_stored_request_instead_of_opening_a_second(world: HelpWorld) -> None:
    first = await world.help.open_request(GUILD, ASKER, "resume", BODY, None, "modal:1")
    again = await world.help.open_request(GUILD, ASKER, "resume", BODY, None, "modal:1")
    assert first.created and not again.created
    assert again.request.id == first.request.id
    assert first.request.status == "pending_thread" and first.request.number == 1


async def test_double_submit_at_the_same_moment_stores_one_request(world: HelpWorld) -> None:
    outcomes = await asyncio.gather(
        *(world.help.open_request(GUILD, ASKER, "resume", BODY, None, "modal:7") for _ in range(3))
    )
    assert {o.request.id for o in outcomes} == {outcomes[0].request.id}
    assert sum(o.created for o in outcomes) == 1


async def test_concurrent_requests_on_two_connections_get_distinct_numbers(
    help_db: Database, second_db: Database
) -> None:
    clock = ManualClock(START)
    await _configure(help_db, GUILD, clock)
    other_db = second_db
    first, second = _wire(help_db, clock), _wire(other_db, clock)
    outcomes = await asyncio.gather(
        *(
            (first if i % 2 else second).help.open_request(GUILD, 100 + i, "other", BODY, None, f"k{i}")
            for i in range(10)
        )
    )
    assert sorted(o.request.number for o in outcomes) == list(range(1, 11))


async def test_numbers_count_per_server(world: HelpWorld) -> None:
    await _configure(world.db, OTHER_GUILD, world.clock)
    a = await world.ask(ASKER)
    b = await world.ask(HELPER, guild=OTHER_GUILD)
    c = await world.ask(STRANGER)
    assert (a.number, b.number, c.number) == (1, 1, 2)


async def test_unconfigured_server_refuses_with_the_setup_command_and_hands_back_the_text(help_db: Database) -> None:
    world = _wire(help_db, ManualClock(START))
    with pytest.raises(HelpNotConfigured) as refused:
        await world.help.open_request(GUILD, ASKER, "offers", BODY, "Advice", "k")
    assert isinstance(refused.value, NotConfigured)
    assert "/setup channels" in refused.value.message
    assert refused.value.draft is not None and refused.value.draft.body == BODY
    with pytest.raises(HelpNotConfigured):
        await world.help.check_can_ask(GUILD, ASKER)


async def test_empty_or_overlong_text_is_refused_and_nothing_is_stored(world: HelpWorld) -> None:
    with pytest.raises(EmptyBody):
        await world.help.open_request(GUILD, ASKER, "resume", "   ", None, "k1")
    with pytest.raises(BodyTooLong) as too_long:
        await world.help.open_request(GUILD, ASKER, "resume", "x" * 1501, None, "k2")
    assert "1501" in too_long.value.message and too_long.value.draft is not None
    assert too_long.value.draft.body == "x" * 1501
    with pytest.raises(WantsTooLong):
        await world.help.open_request(GUILD, ASKER, "resume", BODY, "y" * 201, "k3")
    ok = await world.help.open_request(GUILD, ASKER, "resume", "x" * 1500, "y" * 200, "k4")
    assert ok.request.number == 1  # refusals took no number


async def test_third_open_request_is_refused_naming_the_limit_and_how_to_close_one(world: HelpWorld) -> None:
    first = await world.ask()
    world.clock.advance(minutes=11)
    await world.ask()
    world.clock.advance(minutes=11)
    with pytest.raises(TooManyOpen) as refused:
        await world.help.open_request(GUILD, ASKER, "motivation", BODY, None, "k3")
    assert "2" in refused.value.message and "/close" in refused.value.message
    assert f"<#{first.thread_id}>" in refused.value.message
    assert refused.value.draft is not None and refused.value.draft.topic == "motivation"
    await world.help.close(first.id, ASKER, CloseReason.ASKER)
    assert (await world.help.open_request(GUILD, ASKER, "motivation", BODY, None, "k3")).created


async def test_limit_is_a_server_setting(help_db: Database) -> None:
    clock = ManualClock(START)
    await _configure(help_db, GUILD, clock, max_open_requests=1, request_cooldown_minutes=0)
    world = _wire(help_db, clock)
    await world.ask()
    with pytest.raises(TooManyOpen):
        await world.help.check_can_ask(GUILD, ASKER)


async def test_cooldown_refuses_with_a_relative_timestamp_until_it_passes(world: HelpWorld) -> None:
    await world.ask()
    world.clock.advance(minutes=4)
    with pytest.raises(Cooldown) as refused:
        await world.help.open_request(GUILD, ASKER, "resume", BODY, None, "k2")
    until = START + timedelta(minutes=10)
    assert refused.value.until == until
    assert f"<t:{to_epoch(until)}:R>" in refused.value.message
    world.clock.set(until)
    assert (await world.help.open_request(GUILD, ASKER, "resume", BODY, None, "k2")).created


async def test_request_without_a_thread_waits_in_pending_threads_and_opens_when_attached(world: HelpWorld) -> None:
    request = await world.ask(thread=False)
    assert [r.id for r in await world.help.pending_threads(GUILD)] == [request.id]
    assert await world.help.open_requests(GUILD) == []
    with pytest.raises(RequestNotReady, match="no thread yet"):
        await world.help.claim(request.id, HELPER, is_helper=True)
    opened = await world.help.attach_thread(request.id, 777, 888)
    assert opened.status == "open" and opened.thread_id == 777 and opened.queue_message_id == 888
    assert opened.body == BODY
    assert await world.help.pending_threads(GUILD) == []
    assert [r.id for r in await world.help.open_requests(GUILD)] == [request.id]


# -- claims ----------------------------------------------------------------------------------------------------------


async def test_claim_by_a_member_without_the_helper_role_is_refused(world: HelpWorld) -> None:
    request = await world.ask()
    with pytest.raises(NotAHelper) as refused:
        await world.help.claim(request.id, STRANGER, is_helper=False)
    assert "helper role" in refused.value.message
    assert await world.help.helpers(request.id) == []


async def test_second_click_on_claim_does_not_add_the_helper_twice(world: HelpWorld) -> None:
    request = await world.ask()
    first = await world.help.claim(request.id, HELPER, is_helper=True)
    second = await world.help.claim(request.id, HELPER, is_helper=True)
    assert first.first_claim and not first.already
    assert second.already and second.claim.id == first.claim.id
    assert [c.helper_id for c in await world.help.helpers(request.id)] == [HELPER]
    assert first.request.first_claimed_at == START


async def test_third_helper_is_refused_when_max_helpers_is_reached(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    second = await world.help.claim(request.id, HELPER_2, is_helper=True)
    assert second.helper_ids == (HELPER, HELPER_2) and not second.first_claim
    with pytest.raises(HelpersFull) as refused:
        await world.help.claim(request.id, HELPER_3, is_helper=True)
    assert "2 helpers" in refused.value.message


async def test_release_frees_a_slot_for_another_helper(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    await world.help.claim(request.id, HELPER_2, is_helper=True)
    released = await world.help.release(request.id, HELPER)
    assert released.released and released.helper_ids == (HELPER_2,) and not released.unclaimed
    assert (await world.help.claim(request.id, HELPER_3, is_helper=True)).helper_ids == (HELPER_2, HELPER_3)
    assert not (await world.help.release(request.id, STRANGER)).released


async def test_claiming_a_closed_request_is_refused(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.close(request.id, ASKER, CloseReason.ASKER)
    with pytest.raises(RequestClosed):
        await world.help.claim(request.id, HELPER, is_helper=True)


# -- closing and reopening -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "is_moderator", "reason"),
    [(ASKER, False, "asker"), (HELPER, False, "helper"), (MOD, True, "moderator")],
)
async def test_asker_claiming_helper_and_moderator_can_close(
    world: HelpWorld, user: int, is_moderator: bool, reason: str
) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    outcome = await world.help.close_as_member(request.id, user, is_moderator=is_moderator, note=" thanks! ")
    assert outcome.request.status == "closed" and outcome.request.close_reason == reason
    assert outcome.request.closed_by == user and outcome.note == "thanks!"
    assert outcome.helper_ids == (HELPER,) and not outcome.already_closed


async def test_stranger_and_unclaimed_helper_cannot_close(world: HelpWorld) -> None:
    request = await world.ask()
    for user in (STRANGER, HELPER):
        with pytest.raises(CloseRefused) as refused:
            await world.help.close_as_member(request.id, user, is_moderator=False)
        assert "claim it" in refused.value.message
    assert (await world.help.get(request.id)) == request


async def test_closing_twice_reports_already_closed_and_keeps_the_first_close(world: HelpWorld) -> None:
    request = await world.ask()
    first = await world.help.close(request.id, ASKER, CloseReason.ASKER)
    world.clock.advance(minutes=5)
    second = await world.help.close(request.id, MOD, CloseReason.MODERATOR)
    assert second.already_closed and second.request.closed_by == ASKER
    assert second.request.closed_at == first.request.closed_at


async def test_asker_can_reopen_within_seven_days(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    await world.help.close(request.id, ASKER, CloseReason.ASKER)
    await world.help.record_feedback(request.id, ASKER, helped=False)
    world.clock.advance(days=6, hours=23)
    with pytest.raises(ReopenRefused):
        await world.help.reopen(request.id, HELPER)
    reopened = await world.help.reopen(request.id, ASKER)
    assert reopened.request.status == "open" and reopened.request.feedback is None
    assert reopened.request.close_reason is None and not reopened.already_open
    assert (await world.help.reopen(request.id, ASKER)).already_open
    assert [c.helper_id for c in await world.help.helpers(request.id)] == [HELPER]


async def test_reopen_after_seven_days_is_refused_pointing_to_ask(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.close(request.id, ASKER, CloseReason.ASKER)
    world.clock.advance(days=7, seconds=1)
    with pytest.raises(ReopenRefused) as refused:
        await world.help.reopen(request.id, ASKER)
    assert "/ask" in refused.value.message and "7 days" in refused.value.message


async def test_feedback_with_thanks_is_forwarded_to_the_helpers_not_stored(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    await world.help.claim(request.id, HELPER_2, is_helper=True)
    await world.help.release(request.id, HELPER_2)
    await world.help.close(request.id, HELPER, CloseReason.HELPER)
    outcome = await world.help.record_feedback(request.id, ASKER, helped=True, thanks="Thank you both!")
    assert outcome.request.feedback == "yes"
    assert outcome.forward_to == (HELPER, HELPER_2) and outcome.thanks == "Thank you both!"


# -- escalation ------------------------------------------------------------------------------------------------------


async def test_unclaimed_request_escalates_to_helpers_at_4h_and_moderators_at_24h_and_is_never_closed(
    world: HelpWorld,
) -> None:
    request = await world.ask()
    await world.run_at(timedelta(hours=3, minutes=59))
    assert _applied(world) == []
    await world.run_at(timedelta(minutes=1))
    [helpers] = _applied(world)
    assert helpers.level == 1 and helpers.mention_role_ids == (HELPER_ROLE,) and helpers.notify_asker
    await world.run_at(timedelta(hours=19, minutes=59))
    assert len(_applied(world)) == 1
    await world.run_at(timedelta(minutes=1))
    [_, moderators] = _applied(world)
    assert moderators.level == 2 and moderators.mention_role_ids == (HELPER_ROLE, MOD_ROLE)
    await world.run_at(timedelta(days=30))
    assert len(_applied(world)) == 2
    stored = await world.help.get(request.id)
    assert stored is not None and stored.status == "open" and stored.escalation_level == 2
    card = await world.help.card(request.id)
    assert card.status == "waiting" and "moderators" in card.status_text


async def test_claim_before_4h_means_no_escalation(world: HelpWorld) -> None:
    request = await world.ask()
    world.clock.advance(hours=3)
    await world.help.claim(request.id, HELPER, is_helper=True)
    assert await _pending_jobs(world, ESCALATE_JOB, request.id) == []
    await world.run_at(timedelta(days=2))
    assert _applied(world) == []


async def test_escalation_caught_up_after_downtime_mentions_once(world: HelpWorld) -> None:
    await world.ask()
    await world.run_at(timedelta(hours=30))
    [escalation] = _applied(world)
    assert escalation.level == 2 and escalation.previous_level == 0


async def test_last_helper_releasing_rearms_escalation_from_the_release(world: HelpWorld) -> None:
    request = await world.ask()
    world.clock.advance(hours=1)
    await world.help.claim(request.id, HELPER, is_helper=True)
    world.clock.advance(hours=1)
    released = await world.help.release(request.id, HELPER)
    assert released.unclaimed
    await world.run_at(timedelta(hours=3, minutes=59))
    assert _applied(world) == []
    await world.run_at(timedelta(minutes=1))
    assert [e.level for e in _applied(world)] == [1]


# -- idle ------------------------------------------------------------------------------------------------------------


async def test_quiet_claimed_thread_is_asked_after_3_days_then_closed_2_days_later(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    await world.run_at(timedelta(days=3))
    assert [o.action for o in world.idles] == [IdleAction.ASK]
    await world.run_at(timedelta(days=1, hours=23))
    assert [o.action for o in world.idles] == [IdleAction.ASK]
    await world.run_at(timedelta(hours=1))
    assert [o.action for o in world.idles] == [IdleAction.ASK, IdleAction.CLOSE]
    closed = world.idles[-1].closed
    assert closed is not None and closed.request.close_reason == "idle" and closed.request.closed_by is None
    assert closed.helper_ids == (HELPER,)


async def test_a_message_in_the_thread_resets_the_idle_timer_and_answers_the_question(world: HelpWorld) -> None:
    request = await world.ask()
    assert request.thread_id is not None
    await world.help.claim(request.id, HELPER, is_helper=True)
    await world.run_at(timedelta(days=2))
    assert await world.help.record_activity(request.thread_id, world.clock.now())
    await world.run_at(timedelta(days=2))  # 4 days after the claim, 2 after the message
    assert [o.action for o in world.idles] == [IdleAction.NONE]
    await world.run_at(timedelta(days=1))
    assert [o.action for o in world.idles][-1] is IdleAction.ASK
    await world.run_at(timedelta(days=1))
    assert await world.help.record_activity(request.thread_id, world.clock.now())
    await world.run_at(timedelta(days=1))
    stored = await world.help.get(request.id)
    assert stored is not None and stored.status == "open" and stored.idle_asked_at is None
    assert IdleAction.CLOSE not in [o.action for o in world.idles]
    assert not await world.help.record_activity(123456, world.clock.now())


async def test_unclaimed_request_is_never_idle_closed(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    await world.help.release(request.id, HELPER)
    await world.run_at(timedelta(days=60))
    stored = await world.help.get(request.id)
    assert stored is not None and stored.status == "open"
    assert all(o.action is IdleAction.NONE for o in world.idles)


# -- Discord-side changes and reconciliation -------------------------------------------------------------------------


async def test_deleted_thread_closes_the_request_and_cancels_its_jobs(world: HelpWorld) -> None:
    request = await world.ask()
    assert request.thread_id is not None
    outcome = await world.help.thread_gone(request.thread_id)
    assert outcome is not None and outcome.request.close_reason == "thread_deleted"
    assert await _pending_jobs(world, ESCALATE_JOB, request.id) == []
    assert (await world.help.card(request.id)).status_text == "Closed — the thread was deleted"
    with pytest.raises(ReopenRefused):
        await world.help.reopen(request.id, ASKER)
    assert await world.help.thread_gone(999999) is None


async def test_asker_leaving_closes_their_live_requests(world: HelpWorld) -> None:
    open_one = await world.ask()
    world.clock.advance(minutes=11)
    waiting = await world.ask(thread=False)
    outcomes = await world.help.asker_left(GUILD, ASKER)
    assert {o.request.id for o in outcomes} == {open_one.id, waiting.id}
    assert {o.request.close_reason for o in outcomes} == {"asker_left"}
    assert await world.help.asker_left(GUILD, ASKER) == []


async def test_helper_losing_the_role_releases_their_claims(world: HelpWorld) -> None:
    request = await world.ask()
    await world.help.claim(request.id, HELPER, is_helper=True)
    [outcome] = await world.help.helper_lost_role(GUILD, HELPER)
    assert outcome.released and outcome.unclaimed
    assert await world.help.helpers(request.id) == []
    assert len(await _pending_jobs(world, ESCALATE_JOB, request.id)) == 2


async def test_rearm_jobs_restores_a_missing_escalation(world: HelpWorld) -> None:
    request = await world.ask()
    await world.dispatcher.cancel(kind=ESCALATE_JOB)
    assert await world.help.rearm_jobs() == 1
    assert await world.help.rearm_jobs() == 0
    assert len(await _pending_jobs(world, ESCALATE_JOB, request.id)) == 2


# -- queue -----------------------------------------------------------------------------------------------------------


async def test_queue_card_hides_the_asker_unless_the_server_opts_in(world: HelpWorld) -> None:
    request = await world.ask()
    hidden = queue_card(request, [], world.clock.now(), show_asker=False)
    shown = queue_card(request, [], world.clock.now(), show_asker=True)
    assert hidden.asker_id is None and shown.asker_id == ASKER
    assert hidden.topic_label == "Interviews" and hidden.wants == "A mock interview"
    assert hidden.age == f"<t:{to_epoch(START)}:R>" and hidden.status == "waiting"
    assert BODY not in repr(hidden)
    claimed = await world.help.claim(request.id, HELPER, is_helper=True)
    card = queue_card(claimed.request, await world.help.helpers(request.id), world.clock.now(), show_asker=False)
    assert card.helper_ids == (HELPER,) and card.helper_count == 1 and card.status == "claimed"


async def test_help_queue_lists_open_requests_oldest_first(world: HelpWorld) -> None:
    first = await world.ask(ASKER)
    world.clock.advance(minutes=1)
    second = await world.ask(STRANGER)
    await world.ask(HELPER, thread=False)
    await world.help.claim(second.id, HELPER_2, is_helper=True)
    cards = await world.help.queue(GUILD)
    assert [c.request_id for c in cards] == [first.id, second.id]
    assert [c.helper_count for c in cards] == [0, 1]
    assert all(c.asker_id is None for c in cards)


# -- privacy ---------------------------------------------------------------------------------------------------------


async def test_export_has_the_members_text_and_delete_blanks_it_keeping_anonymous_counts(world: HelpWorld) -> None:
    request = await world.ask()
    other = await world.ask(STRANGER)
    await world.help.claim(other.id, ASKER, is_helper=True)
    exported = await world.help.export_member(GUILD, ASKER)
    assert exported["help_requests"][0]["what_is_going_on"] == BODY
    assert exported["help_claims"][0]["request_number"] == other.number

    assert await world.help.delete_member(GUILD, ASKER) == 2
    stored = await world.help.get(request.id)
    assert stored is not None
    assert stored.body is None and stored.wants is None and stored.asker_id is None
    assert stored.status == "closed" and stored.number == request.number
    assert await world.help.helpers(other.id) == []
    assert await _pending_jobs(world, ESCALATE_JOB, request.id) == []
    assert await world.help.export_member(GUILD, ASKER) == {"help_requests": [], "help_claims": [], "help_reveals": []}
    async with world.db.conn.execute("SELECT COUNT(*) FROM help_requests WHERE guild_id = ?", (GUILD,)) as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 2
