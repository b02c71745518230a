"""Discord adapters: read the interaction, call one service, render the result.

``EXTENSIONS`` is the one list of cogs the bot loads.
"""

EXTENSIONS: tuple[str, ...] = (
    "cogs.setup",
    "cogs.checkins",
    "cogs.mentors",
    "cogs.help",
    "cogs.helpers",
    "cogs.privacy",
    "cogs.moderation",
    "cogs.stats",
    "cogs.forms",  # every form submission, by custom id (the forms themselves are declared by the cogs above)
)
