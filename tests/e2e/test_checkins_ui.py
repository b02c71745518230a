"""The custom id registry: every template is feature:action[:id...], and no two templates can match one id."""

from __future__ import annotations

import re

from cogs._ui import CUSTOM_IDS
from cogs.checkins._views import DYNAMIC_ITEMS

SAMPLES = {
    "checkin.status": ["checkin:status:123:stuck", "checkin:status:123:on_track:reminder"],
    "checkin.ask": ["checkin:ask:none", "checkin:ask:career-change"],
    "checkin.mentors": ["checkin:mentors"],
    "checkin.dismiss": ["checkin:dismiss"],
    "checkin.reach": ["checkin:reach:42"],
}


def test_every_checkin_item_uses_a_registered_template() -> None:
    registered = set(CUSTOM_IDS.values())
    for item in DYNAMIC_ITEMS:
        assert item.__discord_ui_compiled_template__.pattern in registered


def test_each_sample_id_matches_exactly_its_own_template_and_fits_discord() -> None:
    for name, ids in SAMPLES.items():
        for custom_id in ids:
            assert len(custom_id) <= 100
            matching = [other for other, template in CUSTOM_IDS.items() if re.fullmatch(template, custom_id)]
            assert matching == [name], (custom_id, matching)


def test_templates_start_with_distinct_feature_and_action() -> None:
    prefixes = [":".join(template.split(":")[:2]) for template in CUSTOM_IDS.values()]
    assert len(prefixes) == len(set(prefixes))
