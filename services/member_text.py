"""The one rule for member-written text that Porchlight repeats: its mention syntax is broken so it reads as text.

``@everyone``, ``@here`` and every ``<…>`` mention form (users ``<@id>``/``<@!id>``, roles ``<@&id>``, channels
``<#id>``, slash commands ``</name:id>``) get a zero-width space after the ``@`` or the ``<``: the text looks the same,
Discord parses none of it, so nothing could ping or render as a mention even if a message's ``allowed_mentions`` were
widened later. Timestamps ``<t:…>`` and custom emoji ``<:name:id>`` stay as they are (they ping nobody).

Pure text, no Discord: the renderers use it through ``cogs._text``, the services for the few messages they word.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_EVERYONE = re.compile(r"@(everyone|here)")
_ANGLE = re.compile(r"<(?=[@#/])")


def neutralise_mentions(text: str) -> str:
    return _ANGLE.sub("<" + ZWSP, _EVERYONE.sub("@" + ZWSP + r"\1", text))
