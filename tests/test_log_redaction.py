"""Interaction and webhook tokens (valid 15 minutes: anyone holding one can answer as the bot) never
reach a log line, such as discord.py's DEBUG lines that print every request URL."""

from __future__ import annotations

import logging

from launcher import REDACTED, SecretRedactingFilter

TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpQcmVmZXRjaFRva2VuT25seQ"


def _logged(message: str) -> str:
    record = logging.LogRecord("discord.http", logging.DEBUG, __file__, 1, message, None, None)
    SecretRedactingFilter().filter(record)
    return record.getMessage()


def test_interaction_callback_urls_lose_their_token() -> None:
    line = _logged(f"POST https://discord.com/api/v10/interactions/1234567890/{TOKEN}/callback with None")
    assert TOKEN not in line
    assert line == f"POST https://discord.com/api/v10/interactions/1234567890/{REDACTED}/callback with None"


def test_webhook_urls_lose_their_token() -> None:
    for path in (f"webhooks/1100000000000000001/{TOKEN}/messages/@original", f"webhooks/11/{TOKEN}?wait=1"):
        line = _logged(f"PATCH https://discord.com/api/v10/{path} has returned 200")
        assert TOKEN not in line and REDACTED in line


def test_other_urls_are_left_alone() -> None:
    line = "GET https://discord.com/api/v10/channels/123/messages has returned 200"
    assert _logged(line) == line
