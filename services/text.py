"""The one normalisation every piece of member-written text passes before a rule looks at it. No Discord here.

:func:`clean_text` runs first in every service method that takes free text (check-in notes, help requests, notes,
thank-yous, mentor profiles, booking topics, reasons) and in every parser of typed values (time zones, windows,
times, phone numbers, topics), so the length checks and the database only ever see cleaned text.

Decisions (also in docs/decisions.md):
- Line breaks: ``\\r\\n``, a lone ``\\r``, NEL (U+0085) and the Unicode line and paragraph separators become ``\\n``.
- Control characters (category Cc) are removed, except ``\\n`` and ``\\t``. NUL is one of them: SQLite's
  ``length()`` stops at a NUL, so a NUL reaching a CHECK constraint would fail the write.
- Surrogates (category Cs) are removed: a lone surrogate cannot be stored as UTF-8.
- Format characters (category Cf) are removed only where they are invisible and carry no meaning in writing, or can
  reorder the text around them (:data:`DROPPED_FORMAT`): zero-width space, word joiner and invisible operators,
  byte-order mark, bidirectional embeddings, overrides and isolates, interlinear annotation marks, the Mongolian
  vowel separator and the deprecated format controls. Every other Cf character is kept: the zero-width joiner and
  non-joiner (emoji sequences such as 👩‍💻, Persian and Indic spelling), the left-to-right and right-to-left marks,
  emoji tag characters (subdivision flags), the soft hyphen and script-specific format characters.
- Then Unicode NFC, then surrounding whitespace is trimmed. Text with nothing visible left (only whitespace and
  format characters) is empty: ``None``, which each field answers with its usual message.
- Lengths are counted by the callers on the cleaned text, in code points (what SQLite's ``length()`` counts).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["DROPPED_FORMAT", "clean_text"]

_LINE_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")

# Format (Cf) characters that are dropped; every other Cf character is kept (see the module's decisions).
DROPPED_FORMAT = frozenset(
    {
        0x180E,  # Mongolian vowel separator (no longer a space; invisible)
        0x200B,  # zero-width space
        *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO: embeddings and overrides
        *range(0x2060, 0x2065),  # word joiner, invisible function application, times, separator, plus
        *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI: isolates
        *range(0x206A, 0x2070),  # deprecated format controls
        0xFEFF,  # zero-width no-break space, byte-order mark
        *range(0xFFF9, 0xFFFC),  # interlinear annotation anchor, separator, terminator
    }
)


def _kept(char: str) -> bool:
    if char in "\n\t":
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):
        return False
    return not (category == "Cf" and ord(char) in DROPPED_FORMAT)


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) != "Cf"


def clean_text(value: str | None) -> str | None:
    """Member-written text, normalised: line breaks as ``\\n``, control and invisible format characters removed,
    NFC, trimmed. ``None`` when nothing visible is left (or ``value`` is None)."""
    if value is None:
        return None
    text = _LINE_BREAKS.sub("\n", value)
    if not text.isprintable():  # every Cc, Cs and Cf character is non-printable: the common case skips the scan
        text = "".join(ch for ch in text if _kept(ch))
    text = unicodedata.normalize("NFC", text).strip()
    if not any(_visible(ch) for ch in text):
        return None
    return text
