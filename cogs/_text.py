"""Member-written text as Porchlight repeats it (notes, reasons, topics, thank-yous, headlines, about texts).

Every renderer passes what a member typed through :func:`member_text` (or :func:`quote`): its mention syntax is
neutralised by the one rule in :mod:`services.member_text`. Every message also sends explicit ``allowed_mentions``
(the client default is ``AllowedMentions.none()``; a message that pings names exactly who).

Text handed back to its own author to copy (a refused form's draft) is not passed through this: a copy must paste
back exactly as typed, and it is shown in an embed, where nothing ever pings.
"""

from __future__ import annotations

import discord

from services.member_text import neutralise_mentions


def member_text(text: str, *, markdown: bool = False) -> str:
    """``text`` with every mention form neutralised; with ``markdown=True`` Discord markdown is escaped too."""
    if markdown:
        text = discord.utils.escape_markdown(text)
    return neutralise_mentions(text)


def quote(text: str, *, markdown: bool = True) -> str:
    """A block quote of member-written text (each line prefixed ``> ``), neutralised."""
    return "\n".join(f"> {line}" if line else ">" for line in member_text(text, markdown=markdown).splitlines())
