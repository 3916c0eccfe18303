"""Point an unmodified `python bot.py` at the Discord emulator (tests put this folder on PYTHONPATH).

Only acts when LIKELENS_DISCORD_EMULATOR holds the emulator's base URL, e.g. http://127.0.0.1:PORT.
"""

import os

_emulator = os.environ.get("LIKELENS_DISCORD_EMULATOR")
if _emulator:
    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = f"{_emulator}/api/v10"
    _gateway = _emulator.replace("http://", "ws://", 1) + "/"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(_gateway)
