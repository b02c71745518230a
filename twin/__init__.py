"""A local, in-memory Discord that an unmodified discord.py client talks to over HTTP and websocket."""

from twin.faults import Fault, Handled
from twin.people import BotDidNotAnswer, CommandUnavailable, MessageView, Modal, Person, Visible
from twin.server import Faults, RequestRecord, Twin
from twin.state import Application, Channel, Guild, Member, Message, Role, User

__all__ = [
    "Application",
    "BotDidNotAnswer",
    "Channel",
    "CommandUnavailable",
    "Fault",
    "Faults",
    "Guild",
    "Handled",
    "Member",
    "Message",
    "MessageView",
    "Modal",
    "Person",
    "RequestRecord",
    "Role",
    "Twin",
    "User",
    "Visible",
]
