"""A local X API v2 server (aiohttp.web) with seeded data, X's auth rules, rate limits and fault switches.

Tests, benchmarks and new users run LikeLens against it: `python -m xapi.sandbox --port 8088`.
It serves the seven GET endpoints LikeLens uses and X's OAuth 2.0 (the consent page at
`/i/oauth2/authorize`, `POST /2/oauth2/token` and `/2/oauth2/revoke`), and answers in the shape
X's OpenAPI spec documents (both the `tweet` and the `post` field naming).

Seeded world (same ids every run): the owner @likelens_demo (OWNER_ID) with recent posts
POST_NO_LIKES, POST_7_LIKES, POST_100_LIKES and POST_MANY_LIKES (like_count 140, 100 likers
returned); POST_DELETED answers resource-not-found; POST_OTHER_ACCOUNT belongs to USER_OTHER_ID,
whose likes are not ours to see; USER_PROTECTED_ID and USER_SUSPENDED_ID; the owner liked 250 posts.
Three community accounts (COMMUNITY_MAPLE, COMMUNITY_HARBOR, COMMUNITY_ORBIT) have posts and likers
of their own; on the consent page one signs in as the owner or one of them, and the tokens act as
that account (scopes checked: no like.read, X's bare 403 on the likes endpoints).

Rules like X's: an app-only bearer on the likes endpoints or /2/users/me gets 403
unsupported-authentication; likes of another account get 403 not-authorized-for-resource; a bad
OAuth 1.0a signature gets X's legacy code-32 body; an unknown token gets 401; max_results outside the
endpoint's range, unknown parameters or fields get 400 invalid-request. Each (endpoint, token) has a
window budget (default 75 per 15 minutes) reported in x-rate-limit-* headers, then 429.
Tests flip `XSandbox.faults` (SandboxFaults) and call `add_likers`/`add_liked_posts` at run time;
the fault switches apply to the seven GET endpoints. OAuth 2.0 switches: `register_client`
(X apps and their exact callback URLs), `suspend_account`, `token_endpoint_down`, `code_lifetime`.

X Activity API (live likes): `POST`/`GET /2/activity/subscriptions`, `DELETE …/{id}` and
`GET /2/activity/stream`; every like added by `add_likers`/`add_liked_posts` (or the trickle of
`start_simulated_likes(every_seconds)`) is a like.create event for the matching subscriptions.
Switches: `drop_streams()`, `stall_streams()`, `omit_includes`, `streams.streams_down`,
`streams.keepalive_seconds`, `streams.inject_line(text)`, `subscriptions.cap` (1,500).

Modules: server (state, app, request pipeline), activity (subscriptions), stream (the activity
stream), activity_events (like events, the trickle), activity_switches (XSandbox's activity side),
routes_likes and routes_lookups (the endpoints),
bodies (shared answer pieces), auth (credentials and token checks), oauth2_routes, authorize,
consent_page, token_endpoint, oauth2_tokens and oauth2_clients (OAuth 2.0), faults, request_log,
data and community (the seeded world), params (query rules), pages (pagination), problems (error
bodies). This file only gathers the names tests, benchmarks and the bot use.
"""

from xapi.sandbox.auth import (
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_BEARER_TOKEN,
)
from xapi.sandbox.community import COMMUNITIES, COMMUNITY_HARBOR, COMMUNITY_MAPLE, COMMUNITY_ORBIT
from xapi.sandbox.data import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    POST_100_LIKES,
    POST_DELETED,
    POST_MANY_LIKES,
    POST_NO_LIKES,
    POST_OTHER_ACCOUNT,
    POST_OWNER_PINNED,
    USER_OTHER_ID,
    USER_OTHER_USERNAME,
    USER_PROTECTED_ID,
    USER_PROTECTED_USERNAME,
    USER_SUSPENDED_ID,
    USER_SUSPENDED_USERNAME,
)
from xapi.sandbox.faults import SandboxFaults
from xapi.sandbox.oauth2_clients import SandboxClient
from xapi.sandbox.oauth2_tokens import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN
from xapi.sandbox.request_log import SandboxExchange, SandboxRequest
from xapi.sandbox.server import XSandbox

__all__ = [
    "COMMUNITIES",
    "COMMUNITY_HARBOR",
    "COMMUNITY_MAPLE",
    "COMMUNITY_ORBIT",
    "OWNER_ID",
    "OWNER_USERNAME",
    "POST_7_LIKES",
    "POST_100_LIKES",
    "POST_DELETED",
    "POST_MANY_LIKES",
    "POST_NO_LIKES",
    "POST_OTHER_ACCOUNT",
    "POST_OWNER_PINNED",
    "SANDBOX_ACCESS_TOKEN",
    "SANDBOX_ACCESS_TOKEN_SECRET",
    "SANDBOX_API_KEY",
    "SANDBOX_API_SECRET",
    "SANDBOX_BEARER_TOKEN",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_REFRESH_TOKEN",
    "USER_OTHER_ID",
    "USER_OTHER_USERNAME",
    "USER_PROTECTED_ID",
    "USER_PROTECTED_USERNAME",
    "USER_SUSPENDED_ID",
    "USER_SUSPENDED_USERNAME",
    "SandboxClient",
    "SandboxExchange",
    "SandboxFaults",
    "SandboxRequest",
    "XSandbox",
]
