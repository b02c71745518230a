"""Commute-call mentors: profiles, approval, free slots, booking, reminders, invites and outcomes.

No Discord here: cogs call these methods and render what comes back. Decisions:
- Contact modes are named from the mentor's side: ``they_call_me`` (the member calls the mentor: the mentor's number
  is needed at signup), ``i_call_them`` (the mentor calls the member: the member's number is asked when booking),
  ``discord_voice`` (no numbers; a temporary private voice channel). A number the mode does not need is not stored,
  and switching away from a mode drops the number.
- Per-guild settings (``guild_config.settings``): ``mentor_approval`` (default true), ``mentor_min_notice_hours``
  (12), ``mentor_horizon_days`` (14), ``mentor_buffer_minutes`` (5).
- Booking is race-safe twice over: the free-slot check and the insert run in one ``BEGIN IMMEDIATE`` transaction, and
  the partial unique index on live bookings turns any double booking that still slips through (another process) into
  :class:`SlotTaken`, which carries the next free slots.
- Discord side effects (``MentorEffect``: the application card, the role, every DM, roster cards, voice rooms,
  redactions and take-downs) are recorded in the same transaction as the change (``services/effects.py``,
  ``docs/effects.md``); the Discord layer renders and carries them out once.
- Jobs are written in the same transaction as the booking change that causes them (``storage.jobs`` on the same
  connection), so a crash can never leave a confirmed call without reminders or a cancelled one with them; the
  dispatcher is only woken afterwards. Payloads carry ids only. Kinds: ``mentors.request_expiry`` (at
  ``expires_at``), ``mentors.reminder`` (start-24h and start-15min, payload ``minutes_before``; a reminder whose time
  has passed at confirmation is not scheduled), ``mentors.after_call`` (end+30min), and for Discord voice
  ``mentors.voice_create`` (start-5min) and ``mentors.voice_delete`` (end+30min). Handlers should load the booking
  with :meth:`MentorService.booking_for_job` and do nothing when it returns None.
- An unanswered request expires 24 hours after it was made, or when the minimum notice before the call is reached,
  whichever is first, but the mentor always gets at least an hour (never past 15 minutes before the call).
- A pause with an end date hides slots until then and ends by itself; a pause without one hides the mentor. Pausing
  keeps calls already booked. Leaving cancels every upcoming call and deletes the phone number.
- A member holds at most one upcoming call with the same mentor, and cannot book over another call of their own.
- The after-call check: the first answer wins. "They didn't show" records the other person as the no-show; counts
  are for moderators only (:meth:`MentorService.no_show_counts`).
- Invites: UID ``booking-<id>@porchlight``, SEQUENCE is the booking's ``ics_sequence`` (bumped on confirmation-time
  changes: cancellation, an accepted move), times in UTC. Invites name no phone number and no topic text.
- Moving a confirmed call: see ``_moves.py`` (the member proposes, the mentor answers; ``mentors.move_expiry``).
- Away and travel ranges: see ``_away.py`` (slots hidden, or read in the travel zone; calls inside an away range
  flagged to the mentor with a one-click cancel with notice).
"""

from services.mentors._rules import (
    AFTER_CALL_JOB,
    EXPIRY_JOB,
    JOB_KINDS,
    MOVE_EXPIRY_JOB,
    REMINDER_JOB,
    VOICE_CREATE_JOB,
    VOICE_DELETE_JOB,
    BookingError,
    BookingPolicy,
    CancelCause,
    DeclineResult,
    DeleteResult,
    LeaveResult,
    MentorEffect,
    MentorError,
    MentorMatch,
    booking_of,
    booking_subject,
    erase_subject,
    expiry_for,
    ics_invite,
    mentor_subject,
    normalize_topics,
    number_holder,
    validate_timezone,
)
from services.mentors._service import MentorService
from storage.mentors import Booking, Mentor, SlotTaken

__all__ = [
    "AFTER_CALL_JOB",
    "EXPIRY_JOB",
    "JOB_KINDS",
    "MOVE_EXPIRY_JOB",
    "REMINDER_JOB",
    "VOICE_CREATE_JOB",
    "VOICE_DELETE_JOB",
    "Booking",
    "BookingError",
    "BookingPolicy",
    "CancelCause",
    "DeclineResult",
    "DeleteResult",
    "LeaveResult",
    "Mentor",
    "MentorError",
    "MentorEffect",
    "MentorMatch",
    "MentorService",
    "SlotTaken",
    "expiry_for",
    "ics_invite",
    "normalize_topics",
    "booking_of",
    "booking_subject",
    "erase_subject",
    "mentor_subject",
    "number_holder",
    "validate_timezone",
]
