"""Who can use a command, resolved the way Discord does: command overrides, then app-wide ones, then defaults."""

from __future__ import annotations

from services.permissions import (
    ADMINISTRATOR,
    CommandAccess,
    Level,
    command_access_findings,
    role_can_use,
)

GUILD, ROLE, APP = 1, 2, 3
MANAGE_MESSAGES = 1 << 13


def can(command: CommandAccess, permissions: int = 0, app: dict[int, bool] | None = None) -> bool:
    return role_can_use(command, role_id=ROLE, guild_id=GUILD, role_permissions=permissions, app_overrides=app or {})


def test_no_default_and_no_override_lets_every_role_use_it() -> None:
    assert can(CommandAccess("block", None))


def test_a_default_permission_the_role_lacks_hides_it_unless_administrator() -> None:
    command = CommandAccess("block", MANAGE_MESSAGES)
    assert not can(command)
    assert can(command, MANAGE_MESSAGES) and can(command, ADMINISTRATOR)


def test_the_roles_own_override_beats_everyones_and_the_app_wide_ones() -> None:
    assert not can(CommandAccess("block", None, {GUILD: False}))
    assert can(CommandAccess("block", None, {GUILD: False, ROLE: True}))
    assert not can(CommandAccess("block", None), app={GUILD: False})
    assert can(CommandAccess("block", None, {ROLE: True}), app={ROLE: False})


def test_findings_name_the_command_the_role_and_the_exact_place_to_fix_it() -> None:
    commands = [CommandAccess("block", None, {GUILD: False}), CommandAccess("checkin", None, {GUILD: False})]
    [finding] = command_access_findings(
        bot_name="Porchlight", guild_id=GUILD, role_id=ROLE, role_name="Mods", role_permissions=0,
        commands=commands, app_overrides={},
    )  # fmt: skip
    assert finding.level is Level.MISSING
    assert "@Mods (the moderator role) can't use /block" in finding.text
    assert "Server Settings > Integrations > Porchlight > /block" in finding.text
