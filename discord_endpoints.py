"""Where discord.py sends REST and gateway traffic.

discord.py keeps both as class attributes (``discord.http.Route.BASE``, joined to every REST path including the
interaction webhooks; ``DiscordWebSocket.DEFAULT_GATEWAY``, used by a non-sharded Client). Operators set them to run
behind a REST proxy; the demo, tests and benchmarks set them to the local twin.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def point_discord_at(api_base: str, gateway_url: str) -> None:
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
