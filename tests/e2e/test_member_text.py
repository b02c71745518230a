"""Member-written text that Porchlight repeats keeps no mention syntax, and every message sets allowed_mentions.

Each test writes every mention form into a member's text (notes, requests, reasons, thank-yous, headlines, about,
topics, block reasons), then checks the bot's messages: the words still read, no form survives to be parsed, nobody
is pinged, and the text reaches only who it should."""

from __future__ import annotations

from demo.community import Community
from tests.e2e.test_help import ask, cards, help_threads, settled
from tests.e2e.test_mentors import (
    approval_card,
    cancel_from_calls,
    confirmed_call,
    eventually,
    roster_cards,
)
from twin.people import Modal, Person
from twin.state import Message


def mentions(c: Community, marker: str) -> str:
    """Every mention form, with a marker to find the text by."""
    return (
        f"{marker} @everyone @here <@&{c.mods.id}> <@&{c.helpers.id}> <@{c.bob.id}> <@!{c.dave.id}> "
        f"<#{c.general.id}> </ask:1>"
    )


def raw_forms(c: Community) -> list[str]:
    return [
        "@everyone",
        "@here",
        f"<@&{c.mods.id}>",
        f"<@&{c.helpers.id}>",
        f"<@{c.bob.id}>",
        f"<@!{c.dave.id}>",
        f"<#{c.general.id}>",
        "</ask:1>",
    ]


def assert_neutral(c: Community, text: str) -> None:
    assert "everyone" in text and "here" in text, text  # the words still read
    left = [form for form in raw_forms(c) if form in text]
    assert left == [], f"mention syntax survived: {left}"


def bot_messages_with(c: Community, marker: str) -> list[Message]:
    bot_id = c.app.bot.id
    found = [m for m in c.twin.state.messages.values() if m.author.id == bot_id and marker in _all_text(m)]
    assert found, f"no bot message repeats {marker!r}"
    return found


def _all_text(message: Message) -> str:
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f.get('name', '')}\n{f.get('value', '')}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def assert_pings_nobody(c: Community, message: Message) -> None:
    assert not message.mention_everyone
    assert message.mention_roles == []
    assert {u.id for u in message.mentions} <= {m.id for m in (c.alice, c.helper, c.carol)}  # the bot's own names
    assert c.twin.role_mention_adds == []


def assert_every_bot_message_sets_allowed_mentions(c: Community) -> None:
    bot_id = c.app.bot.id
    loose = [m.id for m in c.twin.state.messages.values() if m.author.id == bot_id and None in m.allowed_mentions_sent]
    assert loose == [], "messages sent without allowed_mentions (Discord would parse every mention)"
    assert any(m.allowed_mentions_sent for m in c.twin.state.messages.values() if m.author.id == bot_id)


def others(c: Community, *allowed: Person) -> list[Person]:
    return [p for p in c.members if p not in allowed]


async def test_close_note_with_everyone_and_a_role_mention_reads_as_text_and_pings_nobody(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    note = mentions(c, "close-note-marker")
    closed = await c.alice.slash("close", channel=thread, note=note)
    assert not closed.ephemeral
    [message] = bot_messages_with(c, "close-note-marker")
    assert_neutral(c, message.content)
    assert_pings_nobody(c, message)
    await settled(lambda: thread.locked)
    # Only the thread's people and staff see it; the members it named do not.
    for person in others(c, c.alice, c.helper, c.mod, c.admin):
        assert not any("close-note-marker" in v.text for v in c.twin.visible_to(person)), person.name
    assert_every_bot_message_sets_allowed_mentions(c)


async def test_request_text_and_thank_you_are_neutral_in_the_thread_queue_card_and_dm(community: Community) -> None:
    c = community
    await ask(c.alice, c, body=mentions(c, "body-marker"), wants=mentions(c, "wants-marker")[:200])
    for message in bot_messages_with(c, "body-marker") + bot_messages_with(c, "wants-marker"):
        assert_neutral(c, _all_text(message).split("body-marker", 1)[-1].split("wants-marker", 1)[-1])
        assert_pings_nobody(c, message)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    await c.alice.slash("close", channel=thread)
    await settled(lambda: thread.locked and bool(c.alice.dms()))
    dm = c.alice.dms()[-1]
    await c.alice.click(dm, "Yes, it helped")
    form = await c.alice.click(dm, "Send a thank-you")
    assert isinstance(form, Modal)
    await c.alice.submit_modal(form, {"thanks": mentions(c, "thanks-marker")})
    [thanks] = bot_messages_with(c, "thanks-marker")
    assert_neutral(c, thanks.content)
    for person in others(c, c.alice, c.helper, c.mod, c.admin):
        seen = " ".join(v.text for v in c.twin.visible_to(person))
        assert "body-marker" not in seen and "thanks-marker" not in seen, person.name
    assert_every_bot_message_sets_allowed_mentions(c)


async def test_mentor_headline_about_and_topics_are_neutral_on_the_application_and_roster_card(
    community: Community,
) -> None:
    c = community
    form = await c.carol.slash(
        "mentor signup",
        channel=c.general,
        timezone="Europe/London",
        windows="Mon-Fri 07:30-08:30",
        call_minutes=15,
        contact="discord_voice",
    )
    assert isinstance(form, Modal)
    await c.carol.submit_modal(
        form,
        {
            "Headline": f"headline-marker @everyone <@&{c.mods.id}>",
            "Topics (comma-separated)": f"topic-marker @here, <@{c.bob.id}>",
            "About you (optional)": mentions(c, "about-marker"),
        },
    )
    application = approval_card(c)
    await c.mod.click(application, "Approve")
    card = next(card for card in roster_cards(c) if c.carol.mention in card.text)
    for message in (application.message, card.message):
        text = _all_text(message)
        assert "@everyone" not in text and "@here" not in text
        assert f"<@&{c.mods.id}>" not in text and f"<@{c.bob.id}>" not in text and f"<@!{c.dave.id}>" not in text
        assert "about-marker" in text and "topic-marker" in text
        assert_pings_nobody(c, message)
    assert_every_bot_message_sets_allowed_mentions(c)


async def test_a_cancel_reason_reaches_the_other_person_as_text(community: Community) -> None:
    c = community
    await confirmed_call(c, c.carol, c.alice)
    await cancel_from_calls(c, c.alice, mentions(c, "reason-marker"))
    await eventually(lambda: any("reason-marker" in dm.text for dm in c.carol.dms()))
    [notice] = bot_messages_with(c, "reason-marker")
    assert_neutral(c, notice.content)
    assert_pings_nobody(c, notice)
    c.twin.assert_only_visible_to("reason-marker", allowed=[c.carol])
    assert_every_bot_message_sets_allowed_mentions(c)


async def test_a_block_reason_is_shown_to_the_member_as_text(community: Community) -> None:
    c = community
    await c.mod.slash("block", channel=c.general, member=c.alice, reason=mentions(c, "block-marker")[:150])
    refused = await c.alice.slash("ask", channel=c.general, topic="resume")
    assert not isinstance(refused, Modal) and refused.ephemeral
    assert "block-marker" in refused.text
    assert "@everyone" not in refused.text and f"<@&{c.mods.id}>" not in refused.text
    c.twin.assert_only_visible_to("block-marker", allowed=[c.alice, c.mod])
