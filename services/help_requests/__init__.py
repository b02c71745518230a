"""Private help requests: the rules behind /ask, the helper queue, claims, /close, reopening, the unanswered
safety net (escalation) and idle closing. No Discord here: the cogs create threads and render what this returns.

Decisions:
- Find-or-create: a modal submission carries a ``submit_key`` (the interaction's custom id or id). The same key from
  the same member in the same server returns the stored request with ``created=False``; keys are scoped to the
  member so a key can never hand back somebody else's request.
- Numbers (#12) count per server and come from a counter row taken in the same BEGIN IMMEDIATE transaction as the
  insert, never from max+1.
- Limits: ``body`` is required and at most 1500 characters (the modal's paragraph field); ``wants`` ("What would
  help most?", the short field) is optional and at most 200 characters, because it is shown on the queue card.
  Whitespace-only text counts as empty.
- Refusals lose nothing without keeping anything: a refused submission is not stored (the member never agreed to
  keeping a draft), and every refusal raised by :meth:`HelpRequestService.open_request` carries the member's text
  as ``error.draft``, so the Discord layer can show it back for copying. :meth:`HelpRequestService.check_can_ask`
  runs the same configuration, limit and cooldown checks before the modal is shown, so in the usual case the
  member learns about a limit before typing anything.
- The limit counts requests that are not closed, including those still waiting for their thread. The cooldown runs
  from the member's latest request in the server, whatever its state.
- A request is stored as ``pending_thread``; :meth:`attach_thread` makes it ``open``. When the thread cannot be
  created (missing permission) the request stays ``pending_thread`` and :meth:`pending_threads` lists it for the
  retry once the permission is fixed. Escalation is armed by ``attach_thread``, counted from creation, because
  before that there is no queue card to re-post.
- Escalation ("help.escalate") counts from ``awaiting_since``: creation, the moment the last helper released, or a
  reopen without helpers. Level 1 (helper role) after ``escalate_after_hours`` (4), level 2 (helper and moderator
  roles) after ``moderator_escalate_after_hours`` (24). Claiming cancels both jobs. A level is applied once: after
  downtime a late job applies the highest level due, and the other job finds nothing to do. Escalation never
  closes anything.
- Idle ("help.idle_check") only watches requests a helper holds. An unclaimed request is never idle-closed: the
  escalation path is its safety net. No activity for ``idle_days`` (3): ask "Is this sorted?"; no activity for
  ``idle_close_after_days`` (2) more: close with reason ``idle``. Activity is one cheap UPDATE per message
  (:meth:`record_activity`); the idle job re-arms itself from the stored activity time instead of every message
  rescheduling a job. The Discord layer must not report the bot's own messages as activity (the "Is this sorted?"
  message would answer itself).
- Job keys are per occurrence (``help.escalate:<id>:<level>:<since>``, ``help.idle_check:<id>:<due>``) because a
  running job's key cannot be taken over, and the idle job schedules its successor while it runs. Jobs carry ids
  only; the asker is the job's ``user_id`` so /privacy delete finds them. Jobs are scheduled after the request is
  committed; :meth:`rearm_jobs` repairs a chain broken by a crash in between (call it at start-up).
- Claims stay on a request when it closes (they say who helped, and the helpers are back if it is reopened).
  Closing is idempotent. The close note is member-written, so it is returned for the thread, never stored.
- Reopening: only the asker, within ``reopen_days`` (7) of the close, not when the thread was deleted or the asker
  had left, and within the open-request limit. A reopen forgets the previous close and its feedback.
- Discord side effects (the thread, its opening message, the queue card, posts in the thread, DMs) are recorded as
  effects (``services/effects.py``) in the same transaction as the change that implies them, under the subject
  ``help:<id>``; the Discord layer carries them out once, in order. A new request's "your thread is ready" DM waits
  a minute and is cancelled when the member was told in the interaction's own answer
  (:meth:`HelpRequestService.asker_told`), so a crash or a Discord hiccup before that answer still tells them.
- /privacy delete closes the member's live requests, blanks body, wants and submit key and unlinks the rows from
  them (``asker_id`` NULL); claims they made as a helper are released and unlinked. Anonymous counts remain.
"""

from services.help_requests._answers import *  # noqa: F403 - refusals and outcomes, listed in _answers.__all__
from services.help_requests._answers import __all__ as _answer_names
from services.help_requests._rules import *  # noqa: F403 - the package's vocabulary, listed once in _rules.__all__
from services.help_requests._rules import __all__ as _rules_names
from services.help_requests._service import HelpRequestService

__all__ = [*_answer_names, *_rules_names, "HelpRequestService"]
