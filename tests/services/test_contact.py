"""Phone numbers: E.164 validation with helpful errors, Fernet encryption, and nothing revealed by repr or logs."""

from __future__ import annotations

import logging

import pytest

from services.contact import (
    ContactUnavailable,
    InvalidPhoneNumber,
    PhoneNumber,
    PhoneVault,
    normalize_phone,
)

UK = "+442079460958"


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("+44 20 7946 0958", None, UK),
        ("+44 (0)20 7946-0958", None, UK),
        ("0044 20 7946 0958", None, UK),
        ("020 7946 0958", "GB", UK),
        ("+1 415-555-0100", None, "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("+61 2 9374 4000", "US", "+61293744000"),
    ],
)
def test_numbers_are_normalised_to_e164(typed: str, region: str | None, e164: str) -> None:
    assert normalize_phone(typed, region).e164 == e164


def test_without_a_default_region_the_country_code_is_required_and_the_error_says_so() -> None:
    with pytest.raises(InvalidPhoneNumber, match=r"start the number with \+ and your country code") as caught:
        normalize_phone("020 7946 0958")
    assert "+44 20 7946 0958" in str(caught.value)  # an example to copy


@pytest.mark.parametrize("typed", ["+44 12", "+999 1234567", "call me maybe", "+1 000 000 0000", "", "+" + "1" * 50])
def test_invalid_numbers_get_an_example_and_never_echo_the_input(typed: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone(typed, None)
    message = str(caught.value)
    assert "+44 20 7946 0958" in message
    if typed.strip():
        assert typed not in message


def test_vault_round_trips_and_tokens_do_not_contain_the_number() -> None:
    vault = PhoneVault(PhoneVault.generate_key())
    token = vault.encrypt(UK)
    assert UK.encode() not in token and b"2079460958" not in token
    assert vault.decrypt(token) == UK
    assert vault.encrypt(UK) != token  # fresh IV each time
    assert vault.decrypt_number(vault.encrypt(normalize_phone("+1 415 555 0100"))).e164 == "+14155550100"


def test_vault_refuses_plain_text_that_is_not_e164() -> None:
    vault = PhoneVault(PhoneVault.generate_key())
    with pytest.raises(ValueError):
        vault.encrypt("020 7946 0958")


def test_a_token_from_another_key_is_a_clear_error_and_logs_no_number(caplog: pytest.LogCaptureFixture) -> None:
    token = PhoneVault(PhoneVault.generate_key()).encrypt(UK)
    with caplog.at_level(logging.DEBUG), pytest.raises(ContactUnavailable, match="/mentor edit"):
        PhoneVault(PhoneVault.generate_key()).decrypt(token)
    assert "2079460958" not in caplog.text


def test_bad_key_is_refused() -> None:
    with pytest.raises(ValueError, match="Fernet key"):
        PhoneVault(b"not a key")


def test_repr_and_str_reveal_neither_number_nor_key() -> None:
    key = PhoneVault.generate_key()
    vault = PhoneVault(key)
    number = normalize_phone("+44 20 7946 0958")
    for shown in (repr(number), str(number), f"{number}", repr(vault), repr([number])):
        assert "2079460958" not in shown and "7946" not in shown
        assert key.decode() not in shown
    assert number.masked == "+44 … 58"
    assert number.international == "+44 20 7946 0958"


def test_phone_number_rejects_non_e164() -> None:
    with pytest.raises(ValueError):
        PhoneNumber("07946 0958")
