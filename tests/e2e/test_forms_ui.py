"""Form custom ids: each form's template is registered, disjoint from every other, and its ids fit Discord's 100
characters with the largest ids; every input has a fixed custom id (what a refused form is re-filled by)."""

from __future__ import annotations

import re

import discord

from cogs._ui import CUSTOM_IDS
from cogs.forms import ReopenButton
from cogs.help import _views as help_views
from cogs.mentors import _forms as mentor_forms

BIG = 2**64 - 1  # the largest snowflake
EPOCH = 4_102_444_800  # 2100-01-01

MODALS: dict[str, list[discord.ui.Modal]] = {
    "mentors.apply": [mentor_forms.signup_modal(f"mentors:apply:{BIG}", "they_call_me")],
    "mentors.profile": [
        mentor_forms.edit_modal(f"mentors:profile:{BIG}", {}, None),
        mentor_forms.edit_modal(f"mentors:profile:{BIG}:o", {}, "required"),
    ],
    "mentors.request": [mentor_forms.request_modal(BIG, BIG, EPOCH, needs_phone=True)],
    "mentors.cancelnote": [mentor_forms.cancel_modal(BIG)],
    "mentors.thanknote": [mentor_forms.thanks_modal(BIG)],
    "help.ask": [
        help_views.ask_modal("career-change", BIG, "checkin", guild_id=BIG),
        help_views.ask_modal(None, BIG, "ask"),
    ],
    "help.thanknote": [help_views.thanks_modal(BIG)],
}


def test_every_form_and_the_reopen_button_use_registered_templates() -> None:
    assert ReopenButton.__discord_ui_compiled_template__.pattern == CUSTOM_IDS["form.reopen"]
    assert set(MODALS) <= set(CUSTOM_IDS)


def test_each_form_id_matches_exactly_its_own_template_and_fits_discord() -> None:
    samples = {name: [m.custom_id for m in modals] for name, modals in MODALS.items()}
    samples["form.reopen"] = [f"form:reopen:{BIG}"]
    for name, ids in samples.items():
        for custom_id in ids:
            assert len(custom_id) <= 100, custom_id
            matching = [other for other, template in CUSTOM_IDS.items() if re.fullmatch(template, custom_id)]
            assert matching == [name], (custom_id, matching)


def test_every_input_has_a_fixed_custom_id_and_a_refill_keeps_the_text() -> None:
    for modal in (m for modals in MODALS.values() for m in modals):
        payload = modal.to_dict()
        for top in payload["components"]:
            inner = [top["component"]] if "component" in top else top["components"]
            for component in inner:
                assert re.fullmatch(r"[a-z]{1,20}", component["custom_id"]), (modal.title, component["custom_id"])
    refilled = mentor_forms.signup_modal("mentors:apply:1", "they_call_me", {"about": "a" * 5000, "phone": "12"})
    inputs = {c["custom_id"]: c.get("value") for row in refilled.to_dict()["components"] for c in row["components"]}
    assert inputs == {"headline": None, "topics": None, "about": "a" * 1000, "phone": "12"}
