"""Phone numbers: validated and normalised to E.164, encrypted at rest, never logged, never shown by ``repr``.

A number is shared only with the other person of a confirmed booking, by DM; everything else handles it as an opaque
Fernet token (AES-128-CBC with HMAC-SHA256, so a tampered or foreign token is refused rather than misread). The key
comes from Settings; :meth:`PhoneVault.generate_key` makes one for ``make demo`` and tests.

phonenumbers and cryptography (about 10 MiB resident together) are imported by the first number handled, not when the
bot starts; the key is checked at start all the same.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.errors import PorchlightError
from services.text import clean_text

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

EXAMPLE_NUMBER = "+44 20 7946 0958"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_MAX_INPUT = 40


class InvalidPhoneNumber(PorchlightError):
    """The text is not a phone number we can call; the message shows the expected form. It never repeats the input."""


class ContactUnavailable(PorchlightError):
    """A stored number cannot be read back (e.g. the server's encryption key was changed)."""


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A validated E.164 number. ``repr`` and ``str`` hide it; read ``.e164`` only where it is meant to be shown."""

    e164: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _E164.match(self.e164):
            raise ValueError("not an E.164 number")

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        """Country code and last two digits only, e.g. ``+44 … 58``: enough to recognise, not enough to call."""
        import phonenumbers

        parsed = phonenumbers.parse(self.e164, None)
        return f"+{parsed.country_code} … {self.e164[-2:]}"

    @property
    def international(self) -> str:
        """Readable form for the confirmation DM (``+44 20 7946 0958``)."""
        import phonenumbers

        return phonenumbers.format_number(
            phonenumbers.parse(self.e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )


def normalize_phone(text: str, default_region: str | None = None) -> PhoneNumber:
    """Parse what a member typed into an E.164 number.

    Without a ``default_region`` (ISO 3166 code such as ``"GB"``) the number must start with ``+`` and its country
    code, and the error says so.
    """
    import phonenumbers

    raw = clean_text(text) or ""
    if not raw:
        raise InvalidPhoneNumber(f"Please give a phone number with its country code, for example {EXAMPLE_NUMBER}.")
    if len(raw) > _MAX_INPUT:
        raise InvalidPhoneNumber(f"That's too long for a phone number. Write it like {EXAMPLE_NUMBER}.")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if default_region is None and not raw.startswith("+"):
        raise InvalidPhoneNumber(
            f"Please start the number with + and your country code, for example {EXAMPLE_NUMBER} (UK) or "
            "+1 415 555 0100 (US)."
        )
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        hint = "" if default_region is None else " If it's from another country, start it with + and its country code."
        raise InvalidPhoneNumber(
            f"That doesn't look like a phone number I can use. Check the digits and write it with the country code, "
            f"like {EXAMPLE_NUMBER}.{hint}"
        )
    return PhoneNumber(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


class PhoneVault:
    """Encrypts and decrypts phone numbers with one Fernet key. ``repr`` never shows the key."""

    __slots__ = ("_key", "_cipher")

    def __init__(self, key: bytes) -> None:
        # Fernet's own check of its key (url-safe base64 of 32 bytes), made here so that a bad key stops the start.
        try:
            if len(base64.urlsafe_b64decode(key)) != 32:
                raise ValueError("not 32 bytes")
        except (ValueError, TypeError, binascii.Error) as exc:
            raise ValueError("the phone encryption key must be a url-safe base64 Fernet key (32 bytes)") from exc
        self._key = key
        self._cipher: Fernet | None = None

    def __repr__(self) -> str:
        return "PhoneVault(key=<hidden>)"

    @property
    def _fernet(self) -> Fernet:
        if self._cipher is None:
            from cryptography.fernet import Fernet

            self._cipher = Fernet(self._key)
        return self._cipher

    @staticmethod
    def generate_key() -> bytes:
        """A new Fernet key: url-safe base64 of 32 random bytes (what ``Fernet.generate_key`` returns)."""
        return base64.urlsafe_b64encode(os.urandom(32))

    def encrypt(self, e164: str | PhoneNumber) -> bytes:
        number = e164 if isinstance(e164, PhoneNumber) else PhoneNumber(e164)
        return self._fernet.encrypt(number.e164.encode("ascii"))

    def decrypt(self, token: bytes) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token).decode("ascii")
        except InvalidToken:
            log.warning("phone number token could not be decrypted")
            raise ContactUnavailable(
                "I couldn't read the stored phone number. Please enter it again with /mentor edit, or ask a "
                "moderator to check the bot's encryption key."
            ) from None

    def decrypt_number(self, token: bytes) -> PhoneNumber:
        return PhoneNumber(self.decrypt(token))

    def seal(self, text: str) -> bytes:
        """Encrypt any text that may carry contact details (a form draft with a typed phone number)."""
        return self._fernet.encrypt(text.encode("utf-8"))

    def unseal(self, token: bytes) -> str | None:
        """The text back, or None when this key cannot read it (the key was changed)."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            log.warning("sealed text could not be decrypted")
            return None
