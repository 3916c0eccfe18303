"""Answers in Discord's shape: JSON bodies, error bodies, and the request record a handler reads."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.emulator.state import RecordedRequest

RECORDED = web.RequestKey("recorded", RecordedRequest)


class DiscordError(Exception):
    """An error answer in Discord's shape."""

    def __init__(self, status: int, code: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.body = status, code, {"message": message, "code": code, **(extra or {})}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: with `; charset=utf-8` discord.py reads the body as text.
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json", headers=headers
    )


def recorded_of(request: web.Request) -> RecordedRequest:
    """The record the emulator's middleware made of this request (body and files already read)."""
    return request[RECORDED]
