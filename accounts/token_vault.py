"""Tokens at rest: every X token LikeLens stores is encrypted with Fernet (AES-128-CBC + HMAC).

Keys come from `LIKELENS_SECRET_KEY`, comma-separated: the first encrypts, all decrypt, so an
operator rotates by putting a new key first and keeping the old one after it until the bot has
started once (a token read with a later key is re-encrypted with the first). With the variable
unset, one key is generated into `secret.key` beside the database (mode 0600) and reused after.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config import ConfigError

KEY_FILE_NAME = "secret.key"
# Fernet keys are 32 random bytes in URL-safe base64 (44 characters).
_KEY_BYTES = 32


class TokenVaultError(ConfigError):
    """The keys cannot be used (malformed, or not the ones the stored tokens were encrypted with)."""


def key_problem(key: str) -> str | None:
    """Why key is not a Fernet key, or None (never quotes the key: it is a secret)."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return "not URL-safe base64"
    if len(raw) != _KEY_BYTES:
        return f"{len(raw)} bytes instead of {_KEY_BYTES}"
    return None


def parse_keys(value: str) -> list[bytes]:
    """The keys of a LIKELENS_SECRET_KEY value; raises ValueError saying which one is malformed."""
    keys = [part.strip() for part in value.split(",")]
    for number, key in enumerate(keys, start=1):
        problem = "empty" if not key else key_problem(key)
        if problem is not None:
            raise ValueError(f"key {number} of {len(keys)} is {problem}")
    return [key.encode("ascii") for key in keys]


class TokenVault:
    """Encrypts tokens with the first key; decrypts with any."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._first = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_keys(cls, keys: Sequence[bytes]) -> TokenVault:
        """A vault over these Fernet keys (at least one)."""
        return cls(keys)

    def encrypt(self, token: str) -> str:
        """The token as stored (Fernet text)."""
        return self._first.encrypt(token.encode()).decode("ascii")

    def decrypt(self, stored: str) -> tuple[str, bool]:
        """(token, True when it was encrypted with a key other than the first: store it again)."""
        with contextlib.suppress(InvalidToken):
            return self._first.decrypt(stored.encode("ascii")).decode(), False
        try:
            return self._all.decrypt(stored.encode("ascii")).decode(), True
        except InvalidToken:
            raise TokenVaultError(
                "LIKELENS_SECRET_KEY cannot decrypt the X token stored in the database: set the key it "
                "was saved with (a new key goes first, the old one after a comma), or delete the "
                "database's oauth_tokens rows and authorize X again"
            ) from None


def _key_file(database_path: Path) -> bytes:
    path = Path(database_path).parent / KEY_FILE_NAME
    try:
        # O_EXCL: created once, never overwritten (a second start reads the first one's key).
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        problem = key_problem(key.decode("ascii", errors="replace"))
        if problem is not None:
            raise TokenVaultError(
                f"{path} is malformed ({problem}): restore it, or set LIKELENS_SECRET_KEY to the key "
                "the tokens were saved with"
            ) from None
        return key
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key + b"\n")
    return key


def load_vault(secret_keys: str | None, database_path: Path) -> TokenVault:
    """The vault of LIKELENS_SECRET_KEY's value, or of the key file beside database_path when unset."""
    if secret_keys:
        try:
            return TokenVault(parse_keys(secret_keys))
        except ValueError as error:
            raise TokenVaultError(f"LIKELENS_SECRET_KEY is malformed ({error})") from None
    Path(database_path).parent.mkdir(parents=True, exist_ok=True)
    return TokenVault([_key_file(database_path)])
