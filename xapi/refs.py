"""Parse what people paste for a post or an account: links, ids and @handles.

`parse_post_ref` and `parse_user_ref` accept X's link forms (x.com, twitter.com, mobile.twitter.com
and the embed fixers fxtwitter, vxtwitter, fixupx, with or without `www.`, any query or fragment)
and raise `UnreadableReference` (an `InvalidReference`), with an example of an accepted form, for
anything else. The examples name the caller's account when it passes `handle` (the account that
serves the server), else no account: `UnreadableReference.sentence(handle)` words it again for an
account known only later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from xapi.errors import InvalidReference
from xapi.validation import ID_PATTERN, USERNAME_PATTERN

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# What Discord makes of a mention typed into a text option: a user, member, role or channel tag.
_DISCORD_MENTION = re.compile(r"<(?:@[!&]?|#)[0-9]+>", re.ASCII)
# Longer input is not something a person pasted from X.
_MAX_LENGTH = 500
_HOSTS = frozenset({
    "x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com", "m.twitter.com",
    "fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com",
})
# What may follow /<user>/status/<id> in a link copied from X.
_POST_SUFFIXES = frozenset({"analytics", "likes", "retweets", "reposts", "quotes", "history"})
_MEDIA_SUFFIXES = frozenset({"photo", "video"})
# First path segments of x.com that are pages, not accounts.
_RESERVED = frozenset({
    "i", "home", "explore", "search", "settings", "messages", "notifications", "intent", "share", "hashtag",
    "compose", "login", "logout", "signup", "tos", "privacy", "jobs", "about", "download", "who_to_follow",
})
_PROFILE_TABS = frozenset({
    "likes", "media", "with_replies", "highlights", "articles", "followers", "following",
    "verified_followers", "photo", "header_photo", "lists", "communities",
})

# Made-up ids of the right shape: the examples must not point at a real post of someone else's.
_EXAMPLE_POST_ID = "1234567890123456789"
_EXAMPLE_USER_ID = "1234567890"


def post_example(handle: str | None = None) -> str:
    """How to write a post reference, with a link on handle's account (none named without one)."""
    link = f"https://x.com/{handle}/status/{_EXAMPLE_POST_ID}" if handle else "https://x.com/…/status/…"
    return f"a post link like {link} or a post id"


def user_example(handle: str | None = None) -> str:
    """How to write an account reference, with handle as the example (none named without one)."""
    if not handle:
        return f"an @handle, a profile link like https://x.com/…, or id:{_EXAMPLE_USER_ID}"
    return f"an @handle like @{handle}, a profile link like https://x.com/{handle}, or id:{_EXAMPLE_USER_ID}"


ReferenceKind = Literal["post", "user", "mention"]


def _refusal(kind: ReferenceKind, handle: str | None) -> str:
    if kind == "post":
        return f"That is not an X post. Paste {post_example(handle)}."
    if kind == "user":
        return f"That is not an X account. Give {user_example(handle)}."
    return ("That is not an X account but a Discord mention. "
            f"Paste their X handle instead: {user_example(handle)}.")


class UnreadableReference(InvalidReference):
    """What was pasted is no post or account reference; `message` says how to write one."""

    def __init__(self, kind: ReferenceKind, handle: str | None = None) -> None:
        self.kind: ReferenceKind = kind
        super().__init__(_refusal(kind, handle))

    def sentence(self, handle: str | None) -> str:
        """The message again, its example naming @handle (None: no account)."""
        return _refusal(self.kind, handle)


@dataclass(frozen=True, slots=True)
class UserRef:
    """An account named by its numeric id or by its username: exactly one is set."""

    id: str | None = None
    username: str | None = None

    def __post_init__(self) -> None:
        if (self.id is None) == (self.username is None):
            raise ValueError("UserRef needs exactly one of id and username")


def _clean(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidReference("Expected text to parse.")
    cleaned = text.strip()
    # Discord's "no embed" syntax wraps links in angle brackets.
    if cleaned.startswith("<") and cleaned.endswith(">"):
        cleaned = cleaned[1:-1].strip()
    return cleaned


def _path_segments(text: str) -> list[str] | None:
    """The path segments of an X link, or None when `text` is not a link to an X host."""
    if not _SCHEME.match(text):
        head = text.split("/", 1)[0].lower()
        if head.removeprefix("www.") not in _HOSTS:
            return None
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or host not in _HOSTS:
        return None
    return [segment for segment in parts.path.split("/") if segment]


def _post_id_from_segments(segments: list[str]) -> str | None:
    # x.com/i/web/status/<id> and x.com/i/status/<id> name no author.
    if segments[:2] == ["i", "web"]:
        segments = ["i", *segments[2:]]
    if len(segments) < 3 or segments[1] not in ("status", "statuses"):
        return None
    author, _, post_id, *rest = segments
    if not (USERNAME_PATTERN.fullmatch(author) and ID_PATTERN.fullmatch(post_id)):
        return None
    if not rest:
        return post_id
    if len(rest) == 1 and rest[0] in _POST_SUFFIXES:
        return post_id
    if len(rest) == 2 and rest[0] in _MEDIA_SUFFIXES and rest[1].isascii() and rest[1].isdigit():
        return post_id
    return None


def parse_post_ref(text: str, *, handle: str | None = None) -> str:
    """The post id in a pasted post link or bare id; raises UnreadableReference otherwise (its
    example names handle's account)."""
    cleaned = _clean(text)
    if len(cleaned) <= _MAX_LENGTH:
        if ID_PATTERN.fullmatch(cleaned):
            return cleaned
        segments = _path_segments(cleaned)
        post_id = _post_id_from_segments(segments) if segments is not None else None
        if post_id is not None:
            return post_id
    raise UnreadableReference("post", handle)


def _user_from_link(text: str) -> UserRef | None:
    segments = _path_segments(text)
    if not segments:
        return None
    if (segments[0] == "i" and len(segments) == 3 and segments[1] == "user"
            and ID_PATTERN.fullmatch(segments[2])):
        return UserRef(id=segments[2])
    if segments[:2] == ["intent", "user"] or segments[:2] == ["intent", "follow"]:
        query = parse_qs(urlsplit(text if _SCHEME.match(text) else "https://" + text).query)
        user_ids = query.get("user_id", [])
        names = query.get("screen_name", [])
        if len(user_ids) == 1 and ID_PATTERN.fullmatch(user_ids[0]):
            return UserRef(id=user_ids[0])
        if len(names) == 1 and USERNAME_PATTERN.fullmatch(names[0]):
            return UserRef(username=names[0])
        return None
    handle, *rest = segments
    if handle.lower() in _RESERVED or not USERNAME_PATTERN.fullmatch(handle):
        return None
    if not rest or (len(rest) == 1 and rest[0] in _PROFILE_TABS):
        return UserRef(username=handle)
    return None


def parse_user_ref(text: str, *, handle: str | None = None) -> UserRef:
    """The account named by `@name`, `name`, a profile link or `id:123`; raises InvalidReference.

    A number of up to 15 digits is read as a username (X handles may be all digits); write
    `id:123` for an id. Longer numbers are ids. A Discord mention (`<@123>`, `<#123>`) is refused.
    The refusal (UnreadableReference) gives handle as its example.
    """
    # Checked before _clean, which would read <@123> as the handle @123.
    if isinstance(text, str) and _DISCORD_MENTION.fullmatch(text.strip()):
        raise UnreadableReference("mention", handle)
    cleaned = _clean(text)
    if len(cleaned) <= _MAX_LENGTH:
        id_form = re.fullmatch(r"id:\s*([0-9]{1,19})", cleaned, re.ASCII | re.IGNORECASE)
        if id_form:
            return UserRef(id=id_form.group(1))
        name = cleaned.removeprefix("@")
        if USERNAME_PATTERN.fullmatch(name):
            return UserRef(username=name)
        # 16 to 19 digits cannot be a username (at most 15 characters): it is an id.
        if name == cleaned and ID_PATTERN.fullmatch(cleaned):
            return UserRef(id=cleaned)
        ref = _user_from_link(cleaned)
        if ref is not None:
            return ref
    raise UnreadableReference("user", handle)
