from services.command_sync import commands_digest


def test_digest_ignores_command_and_key_order() -> None:
    a = {"name": "checkin", "description": "x", "options": []}
    b = {"name": "setup", "type": 1, "description": "y"}
    assert commands_digest([a, b]) == commands_digest([dict(reversed(list(b.items()))), a])


def test_digest_changes_when_a_command_changes() -> None:
    a = {"name": "checkin", "description": "x"}
    assert commands_digest([a]) != commands_digest([{**a, "description": "changed"}])
