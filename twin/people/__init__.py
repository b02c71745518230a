"""A scripting API that reads like people using Discord: slash commands, buttons, selects, modals, messages.

Every call sends what the Discord client would send and waits, event-driven, for the bot's answer. Answers come
back as live views over the twin's state, so later edits by the bot show through.

Where things are: :class:`Person` and the waiting in ``_person.py``; the views of answers (:class:`MessageView`,
:class:`Modal`, :class:`Visible`) in ``_views.py``; how typed and picked values are encoded in ``_inputs.py``.
Import from ``twin.people``.
"""

from twin.people._person import DEFAULT_TIMEOUT, UPDATE_SETTLE, BotDidNotAnswer, CommandUnavailable, Person
from twin.people._views import MessageView, Modal, Visible, message_text, where_is

__all__ = [
    "DEFAULT_TIMEOUT",
    "UPDATE_SETTLE",
    "BotDidNotAnswer",
    "CommandUnavailable",
    "MessageView",
    "Modal",
    "Person",
    "Visible",
    "message_text",
    "where_is",
]
