"""Help-request custom ids: registered, disjoint from every other template, and within Discord's 100 characters."""

from __future__ import annotations

import re

from cogs._ui import CUSTOM_IDS
from cogs.help._views import DYNAMIC_ITEMS

SAMPLES = {
    "help.ask": ["help:ask:resume:1574443987421364224", "help:ask:none:1574443987421364224:checkin"],
    "help.thanknote": ["help:thanknote:12"],
    "help.claim": ["help:claim:12"],
    "help.release": ["help:release:12"],
    "help.close": ["help:close:12"],
    "help.stuck": ["help:stuck:12"],
    "help.reopen": ["help:reopen:12"],
    "help.thanks": ["help:thanks:12"],
    "help.sorted": ["help:sorted:12:yes", "help:sorted:12:no"],
    "help.feedback": ["help:feedback:12:yes"],
}


def test_every_help_item_uses_a_registered_template() -> None:
    registered = set(CUSTOM_IDS.values())
    for item in DYNAMIC_ITEMS:
        assert item.__discord_ui_compiled_template__.pattern in registered


def test_each_help_id_matches_exactly_its_own_template_and_fits_discord() -> None:
    for name, ids in SAMPLES.items():
        for custom_id in ids:
            assert len(custom_id) <= 100
            matching = [other for other, template in CUSTOM_IDS.items() if re.fullmatch(template, custom_id)]
            assert matching == [name], (custom_id, matching)
