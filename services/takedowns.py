"""Taking down what Porchlight posted with a member's words or name, when she deletes her data (``/privacy delete``)
or her data is purged after she left. The take-downs are effects themselves (``docs/effects.md``), recorded in one
transaction *before* anything of hers is deleted (her effects rows included), so a crash or a Discord error never
leaves her words up.

What was posted, and where, comes from the outbox's record (her effects, and effects about others that name her,
with the channel and message or thread id Discord returned) and, for what the outbox no longer holds (finished
effects are purged after 30 days), from the rows that keep an id: a request's thread and queue card, a reach-out's
thread, and a shared check-in's notice found by its button in the queue's recent history.

Decisions:
- Queue items go: her requests' queue cards (open or closed) and escalation re-posts, her reach-out notices.
- Her threads (help and reach-out) stay for the people who helped, but every message Porchlight posted in them (the
  opening with her request or note, "joined to help", closing notes) is edited to :data:`NEUTRAL`, then the thread
  is archived and locked. Messages that members typed themselves stay.
- As a helper: the "joined to help" and "stepped back" lines naming her, a reach-out's opening naming her and the
  notice saying she took it are edited to :data:`NEUTRAL`; queue cards listing her as a claimer are re-rendered
  without her (the help service records those).
- Take-down effects carry no member id: ``user_id`` is NULL and ``args`` hold channel, message or thread ids only;
  their subject is ``takedown:<what they take down>`` (``takedown:help:12``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.effects import Outbox
from storage import effects as effects_store
from storage.effects import Effect
from storage.sql import Conn

NEUTRAL = "_Removed at the member's request._"


class TakeDown(StrEnum):
    DELETE = "takedown.delete"  # args: channel_id, message_id
    REDACT = "takedown.redact"  # args: channel_id, message_id — edited to NEUTRAL, embeds and buttons removed
    THREAD = "takedown.thread"  # args: thread_id — every bot message in it redacted, then archived and locked
    MARKED = "takedown.marked"  # args: channel_id, marker — the bot's messages with that button, deleted


# What becomes of what an effect of *her own* subjects posted (user_id = her), by the effect's kind.
OWN = {
    "help.thread": TakeDown.THREAD,
    "help.card": TakeDown.DELETE,
    "help.escalated": TakeDown.DELETE,
    "share.notice": TakeDown.DELETE,
    "reach.taken": TakeDown.DELETE,  # the notice, edited when a helper took it
    "reach.thread": TakeDown.THREAD,
}
# What becomes of a message about someone else that names her (she is in the effect's args, as the helper).
NAMING = {
    "help.joined": TakeDown.REDACT,
    "help.released": TakeDown.REDACT,
    "reach.opening": TakeDown.REDACT,
    "reach.taken": TakeDown.REDACT,
}


@dataclass(frozen=True, slots=True)
class Target:
    subject: str  # the take-down's subject: takedown:<the subject it takes down>
    kind: TakeDown
    args: dict[str, int | str]

    @property
    def key(self) -> tuple[str, int | str]:
        return (self.kind, self.args.get("message_id") or self.args.get("thread_id") or str(self.args))


def thread_target(source: str, thread_id: int) -> Target:
    return Target(f"takedown:{source}", TakeDown.THREAD, {"thread_id": thread_id})


def message_target(source: str, kind: TakeDown, channel_id: int, message_id: int) -> Target:
    return Target(f"takedown:{source}", kind, {"channel_id": channel_id, "message_id": message_id})


def marked_target(source: str, channel_id: int, marker: str) -> Target:
    return Target(f"takedown:{source}", TakeDown.MARKED, {"channel_id": channel_id, "marker": marker})


def from_effects(effects: list[Effect], user_id: int) -> list[Target]:
    """The take-downs of what these effects posted (any status: a pending effect may have posted already)."""
    found: list[Target] = []
    for effect in effects:
        if effect.result_id is None:
            continue
        if effect.user_id == user_id:
            action = OWN.get(effect.kind)
        else:
            action = NAMING.get(effect.kind) if user_id in effect.args.values() else None
        if action is None:
            continue
        if action is TakeDown.THREAD:
            found.append(thread_target(effect.subject, effect.result_id))
        elif effect.channel_id is not None:
            found.append(message_target(effect.subject, action, effect.channel_id, effect.result_id))
    return found


async def record(conn: Conn, outbox: Outbox, guild_id: int, user_id: int, known: list[Target]) -> list[str]:
    """Record the take-downs of everything posted with her words or name: what her effects (still there, in this
    transaction) say was posted, plus ``known`` (read from rows before they were deleted). Returns the subjects to
    run. Each message or thread is taken down once; a subject's threads come after its messages."""
    targets = from_effects(await effects_store.of_member(conn, guild_id=guild_id, user_id=user_id), user_id)
    covered = {t.subject for t in targets if t.kind is not TakeDown.MARKED}
    targets += [t for t in known if not (t.kind is TakeDown.MARKED and t.subject in covered)]
    unique: dict[tuple[str, int | str], Target] = {}
    for target in targets:
        unique.setdefault(target.key, target)
    ordered = sorted(unique.values(), key=lambda t: t.kind is TakeDown.THREAD)
    subjects: list[str] = []
    for target in ordered:
        await outbox.record(conn, target.subject, target.kind, guild_id=guild_id, user_id=None, args=target.args)
        if target.subject not in subjects:
            subjects.append(target.subject)
    return subjects
