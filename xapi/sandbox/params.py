"""Query-parameter rules of the seven X endpoints the sandbox serves, in both field namings.

The allowed field names are copied from X's OpenAPI spec (v2.167 for `post`, v2.166 for `tweet`);
the sandbox answers 400 `invalid-request` for anything else, as X does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from xapi.validation import ID_PATTERN

Naming = Literal["tweet", "post"]
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})", re.ASCII)


def _words(text: str) -> list[str]:
    return text.split()


USER_FIELDS: dict[Naming, frozenset[str]] = {
    "post": frozenset(_words(
        "confirmed_email connection_status created_at description entities id is_identity_verified location "
        "name parody profile_banner_url profile_image_url protected public_metrics receives_your_dm "
        "subscribes_to_you subscription subscription_type url username verified verified_followers_count "
        "verified_type withheld"
    )),
    "tweet": frozenset(_words(
        "affiliation confirmed_email connection_status created_at description entities id "
        "is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id profile_banner_url "
        "profile_image_url "
        "protected public_metrics receives_your_dm subscription subscription_type url username verified "
        "verified_followers_count verified_type withheld"
    )),
}
POST_FIELDS: dict[Naming, frozenset[str]] = {
    "post": frozenset(_words(
        "article article_title attachments card_uri community_id context_annotations conversation_id "
        "created_at display_text_range edit_controls entities geo id lang matched_media_notes media_metadata "
        "non_public_metrics note_post note_request_suggestions organic_metrics paid_partnership "
        "possibly_sensitive promoted_metrics public_metrics reply_settings scopes source "
        "suggested_source_links suggested_source_links_with_counts text withheld"
    )),
    "tweet": frozenset(_words(
        "article attachments author_id card_uri community_id context_annotations conversation_id created_at "
        "display_text_range edit_controls edit_history_tweet_ids entities geo id in_reply_to_user_id lang "
        "matched_media_notes media_metadata non_public_metrics note_request_suggestions note_tweet "
        "organic_metrics paid_partnership possibly_sensitive promoted_metrics public_metrics "
        "referenced_tweets reply_settings scopes source suggested_source_links "
        "suggested_source_links_with_counts text "
        "withheld"
    )),
}
# `author_id` is a default-worthy field X accepts in post.fields too, although v2.167 lists it only as an
# expansion; real clients send it, so the sandbox tolerates it.
POST_FIELDS_TOLERATED = frozenset({"author_id"})
USER_EXPANSIONS: dict[Naming, frozenset[str]] = {
    "post": frozenset({"affiliation", "most_recent_post_id", "pinned_post_id"}),
    "tweet": frozenset({"affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id"}),
}
POST_EXPANSIONS: dict[Naming, frozenset[str]] = {
    "post": frozenset(_words(
        "article.cover_media article.media_entities attachments.media_keys attachments.media_source_tweet "
        "attachments.poll_ids author_id edit_history_post_ids entities.mentions.username geo.place_id "
        "in_reply_to_user_id referenced_posts username"
    )),
    "tweet": frozenset(_words(
        "article.cover_media article.media_entities attachments.media_keys attachments.media_source_tweet "
        "attachments.poll_ids author_id edit_history_tweet_ids entities.mentions.username geo.place_id "
        "in_reply_to_user_id entities.note.mentions.username referenced_tweets.id "
        "referenced_tweets.id.attachments.media_keys referenced_tweets.id.author_id"
    )),
}
OTHER_FIELDS = {
    "media.fields": frozenset(_words(
        "alt_text duration_ms height media_key non_public_metrics organic_metrics preview_image_url "
        "promoted_metrics public_metrics type url variants width"
    )),
    "poll.fields": frozenset(_words("duration_minutes end_datetime id options voting_status")),
    "place.fields": frozenset(_words(
        "contained_within country country_code full_name geo id name place_type"
    )),
}
_POST_NAMING_HINTS = frozenset({
    "pinned_post_id", "most_recent_post_id", "edit_history_post_ids", "referenced_posts",
})
_TWEET_NAMING_HINTS = frozenset({
    "pinned_tweet_id", "most_recent_tweet_id", "edit_history_tweet_ids", "referenced_tweets.id",
})


@dataclass(frozen=True, slots=True)
class EndpointRules:
    """What one endpoint accepts: its items, result range, whether it needs user context, its scopes."""

    key: str
    items: Literal["users", "posts"]
    user_context_only: bool
    paginated: bool
    min_results: int = 1
    max_results: int = 100
    default_results: int = 100
    extra_params: frozenset[str] = frozenset()
    # What an OAuth 2.0 user token needs for this endpoint, as the spec's security section says.
    scopes: frozenset[str] = frozenset({"tweet.read", "users.read"})


_LIKES_SCOPES = frozenset({"tweet.read", "users.read", "like.read"})
ENDPOINTS = {
    "liking_users": EndpointRules("liking_users", "users", True, True, 1, 100, 100, scopes=_LIKES_SCOPES),
    "liked_posts": EndpointRules("liked_posts", "posts", True, True, 5, 100, 100, scopes=_LIKES_SCOPES),
    "user_posts": EndpointRules(
        "user_posts", "posts", False, True, 5, 100, 10,
        frozenset({"start_time", "end_time", "since_id", "until_id", "exclude"}),
    ),
    "user_by_username": EndpointRules("user_by_username", "users", False, False),
    "post": EndpointRules("post", "posts", False, False),
    "posts": EndpointRules("posts", "posts", False, False, extra_params=frozenset({"ids"})),
    "me": EndpointRules("me", "users", True, False),
}


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A validated query: naming, requested fields and expansions, page size and token."""

    naming: Naming
    user_fields: frozenset[str]
    post_fields: frozenset[str]
    expansions: frozenset[str]
    max_results: int
    pagination_token: str | None
    # user_posts only: X's time and id window (exclusive ids, inclusive start, exclusive end).
    start_time: datetime | None = None
    end_time: datetime | None = None
    since_id: int | None = None
    until_id: int | None = None


@dataclass(frozen=True, slots=True)
class QueryError(Exception):
    """One invalid parameter, worded like X's `invalid-request` messages."""

    parameter: str
    value: str
    message: str


def detect_naming(query: Mapping[str, str]) -> Naming:
    """The field naming a request uses; a request mixing both is refused."""
    expansions = set(query.get("expansions", "").split(","))
    post_hint = "post.fields" in query or bool(expansions & _POST_NAMING_HINTS)
    tweet_hint = "tweet.fields" in query or bool(expansions & _TWEET_NAMING_HINTS)
    if post_hint and tweet_hint:
        raise QueryError("tweet.fields", query.get("tweet.fields", ""),
                         "Use either the tweet or the post field naming in one request, not both")
    return "post" if post_hint else "tweet"


def _csv(query: Mapping[str, str], name: str, allowed: frozenset[str]) -> frozenset[str]:
    raw = query.get(name)
    if raw is None:
        return frozenset()
    values = raw.split(",")
    for value in values:
        if value not in allowed:
            raise QueryError(name, value, f"The `{name}` query parameter value [{value}] is not one of "
                                          f"[{','.join(sorted(allowed))}]")
    return frozenset(values)


def parse_query(rules: EndpointRules, query: Mapping[str, str]) -> ParsedQuery:
    """Validate `query` for the endpoint the way X does; raises QueryError."""
    naming = detect_naming(query)
    post_key = "post.fields" if naming == "post" else "tweet.fields"
    expansion_set = USER_EXPANSIONS if rules.items == "users" else POST_EXPANSIONS
    allowed = {"user.fields", "expansions", post_key} | set(rules.extra_params)
    if rules.items == "posts":
        allowed |= set(OTHER_FIELDS)
    if rules.paginated:
        allowed |= {"max_results", "pagination_token"}
    for name in query:
        if name not in allowed:
            raise QueryError(name, query[name], f"The query parameter [{name}] is not one of "
                                                f"[{','.join(sorted(allowed | {'id'}))}]")
    user_fields = _csv(query, "user.fields", USER_FIELDS[naming])
    post_fields = _csv(query, post_key, POST_FIELDS[naming] | POST_FIELDS_TOLERATED)
    expansions = _csv(query, "expansions", expansion_set[naming])
    for name, values in OTHER_FIELDS.items():
        if rules.items == "posts":
            _csv(query, name, values)
    max_results = rules.default_results
    if "max_results" in query:
        raw = query["max_results"]
        if not raw.isdigit() or not rules.min_results <= int(raw) <= rules.max_results:
            raise QueryError("max_results", raw, f"The `max_results` query parameter value [{raw}] is not "
                                                 f"between {rules.min_results} and {rules.max_results}")
        max_results = int(raw)
    token = query.get("pagination_token")
    if token is not None and not token:
        raise QueryError("pagination_token", token, "The `pagination_token` query parameter can not be empty")
    _csv(query, "exclude", frozenset({"replies", "retweets"}))
    return ParsedQuery(
        naming, user_fields, post_fields, expansions, max_results, token,
        start_time=_time(query, "start_time"), end_time=_time(query, "end_time"),
        since_id=_id(query, "since_id"), until_id=_id(query, "until_id"),
    )


MAX_IDS = 100


def parse_ids(query: Mapping[str, str]) -> list[str]:
    """The `ids` list of a batch lookup (1 to 100 ids, X's id pattern each); raises QueryError."""
    raw = query.get("ids")
    if not raw:
        raise QueryError("ids", raw or "", "The `ids` query parameter can not be empty")
    ids = raw.split(",")
    if len(ids) > MAX_IDS:
        raise QueryError("ids", raw, f"The number of values in the `ids` query parameter list [{len(ids)}] "
                                     f"is not between 1 and {MAX_IDS}")
    for value in ids:
        if not ID_PATTERN.fullmatch(value):
            detail = f"The `ids` query parameter value [{value}] does not match ^{ID_PATTERN.pattern}$"
            raise QueryError("ids", value, detail)
    return ids


def _time(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not _TIMESTAMP.fullmatch(raw):
        raise QueryError(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a timestamp like "
                                    "2026-08-22T10:00:00Z")
    return moment


def _id(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not ID_PATTERN.fullmatch(raw):
        raise QueryError(name, raw,
                         f"The `{name}` query parameter value [{raw}] does not match ^{ID_PATTERN.pattern}$")
    return int(raw)
