"""The pure parts of launcher.py and bot.py: log redaction, logging setup, arguments, healthcheck, invite."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bot import invite_url
from config import Settings
from launcher import (
    REDACTED,
    SecretRedactingFilter,
    alive_file_for,
    healthcheck,
    parse_args,
    setup_logging,
)

SETTINGS = Settings(
    discord_token="MTIzNDU2Nzg5.discord-token.secret", x_api_key="api-key-value",
    x_api_secret="api-secret-value", x_access_token="1600-access-token-value",
    x_access_token_secret="access-token-secret-value", x_client_id="client-id-public",
    x_client_secret="client-secret-value", x_oauth2_refresh_token="refresh/token+value=",
    x_bearer_token="AAAA%2Fbearer-token-value",
)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, SecretRedactingFilter]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redactor = SecretRedactingFilter(SETTINGS.secrets)
    handler.addFilter(redactor)
    logger = logging.getLogger("likelens.test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, stream, redactor
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("secret", SETTINGS.secrets)
def test_each_secret_is_redacted_from_message_args_and_traceback(
    captured: tuple[logging.Logger, io.StringIO, SecretRedactingFilter], secret: str
) -> None:
    logger, stream, _ = captured
    logger.warning("in the message: %s", secret)
    logger.warning(f"formatted in: {secret}")
    logger.warning("url-encoded: https://api.x.invalid/?token=%s", quote(secret, safe=""))
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        logger.exception("an error")
    output = stream.getvalue()
    assert secret not in output
    assert quote(secret, safe="") not in output
    assert output.count(REDACTED) == 4
    assert "RuntimeError: failed with" in output


def test_a_secret_learnt_later_is_redacted_too(
    captured: tuple[logging.Logger, io.StringIO, SecretRedactingFilter]
) -> None:
    logger, stream, redactor = captured
    redactor.add("rotated-refresh-token-2")
    logger.info("new token %s", "rotated-refresh-token-2")
    assert "rotated-refresh-token-2" not in stream.getvalue()


def test_records_without_secrets_are_unchanged(
    captured: tuple[logging.Logger, io.StringIO, SecretRedactingFilter]
) -> None:
    logger, stream, _ = captured
    logger.warning("client id %s is public", SETTINGS.x_client_id)
    assert stream.getvalue() == f"client id {SETTINGS.x_client_id} is public\n"


def test_setup_logging_redacts_on_the_root_handler_at_the_configured_level() -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        redactor = setup_logging(Settings(discord_token="secret-discord-token", log_level="WARNING"))
        assert root.level == logging.WARNING
        assert any(redactor in h.filters for h in root.handlers)
    finally:
        root.handlers[:], root.level = before


class TerminalStream(io.StringIO):
    """A stream that says it is a terminal, so discord.py picks its colour formatter."""

    def isatty(self) -> bool:
        return True


def test_secrets_in_tracebacks_are_redacted_on_a_terminal_too(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = TerminalStream()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        setup_logging(SETTINGS)
        try:
            raise RuntimeError(f"failed with {SETTINGS.x_api_secret}")
        except RuntimeError:
            logging.getLogger("likelens.test-terminal").exception("an error")
    finally:
        root.handlers[:], root.level = before
    output = stream.getvalue()
    assert "\x1b[" in output, "the colour formatter was not used: this test proves nothing"
    assert "RuntimeError: failed with" in output
    assert SETTINGS.x_api_secret is not None and SETTINGS.x_api_secret not in output


def test_command_line_flags() -> None:
    assert parse_args([]).sandbox is False
    args = parse_args(["--sandbox", "--sync"])
    assert args.sandbox and args.sync


def test_healthcheck_follows_the_alive_file(tmp_path: Path) -> None:
    alive = alive_file_for(tmp_path / "likelens.db")
    assert healthcheck(alive) == 1
    alive.write_text("now")
    assert healthcheck(alive) == 0
    stale = time.time() - 3600
    os.utime(alive, (stale, stale))
    assert healthcheck(alive) == 1


def test_the_invite_link_asks_for_commands_and_only_the_permissions_the_bot_uses() -> None:
    url = invite_url(1234)
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=1234")
    assert "scope=bot+applications.commands" in url
    # view, send, embed, attach, history: no administrator, no mention-everyone.
    assert "permissions=117760" in url


REPO = Path(__file__).resolve().parents[1]
# Runs bot.py as `python bot.py --healthcheck` does (as __main__), then counts the LikesBot classes.
ONE_CLASS_PROBE = """
import gc, runpy, sys
sys.argv = ["bot.py", "--healthcheck"]
try:
    runpy.run_path("bot.py", run_name="__main__")
except SystemExit as done:
    print("exit", done.code)
import bot, launcher
classes = [o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == "LikesBot"]
print(len(classes), launcher.LikesBot is bot.LikesBot)
"""


def test_python_bot_py_delegates_to_the_launcher_with_one_likesbot_class(tmp_path: Path) -> None:
    # `python bot.py` runs the file as __main__; a second copy as module `bot` would be a second
    # LikesBot class (isinstance checks and class attributes would then disagree).
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_PATH": str(tmp_path / "none" / "likelens.db")}
    done = subprocess.run(
        [sys.executable, "-c", ONE_CLASS_PROBE], cwd=REPO, capture_output=True, text=True, timeout=60,
        check=False, env=env,
    )
    assert done.returncode == 0, done.stderr
    # No bot is running here: the healthcheck answers 1, through the launcher.
    assert done.stdout.split() == ["exit", "1", "1", "True"]
