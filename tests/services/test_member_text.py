from __future__ import annotations

from cogs._text import member_text, quote
from services.member_text import ZWSP, neutralise_mentions


def test_every_mention_form_is_broken_and_still_reads_the_same() -> None:
    raw = "@everyone @here <@1234> <@!1234> <@&5678> <#91011> </ask:1213>"
    text = neutralise_mentions(raw)
    for form in ("@everyone", "@here", "<@1234>", "<@!1234>", "<@&5678>", "<#91011>", "</ask:1213>"):
        assert form not in text
    assert text.replace(ZWSP, "") == raw


def test_timestamps_emoji_and_addresses_are_left_alone() -> None:
    raw = "at <t:1790000000:f> <:wave:123> mail me at jo@example.com, 3 < 4"
    assert neutralise_mentions(raw) == raw


def test_neutralising_twice_changes_nothing_more() -> None:
    once = neutralise_mentions("@everyone <@&1>")
    assert neutralise_mentions(once) == once


def test_quote_escapes_markdown_and_mentions_on_every_line() -> None:
    assert quote("**hi** @here\n\n<@1>") == f"> \\*\\*hi\\*\\* @{ZWSP}here\n>\n> <{ZWSP}@1>"
    assert member_text("_x_ @everyone", markdown=False) == f"_x_ @{ZWSP}everyone"
