"""What every REST request goes through before its route: recording, injected faults, holds,
authentication, rate limits and validation of the body against Discord's request schema."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from tests.emulator import schema
from tests.emulator.ratelimits import RateLimited
from tests.emulator.replies import RECORDED, DiscordError, json_response
from tests.emulator.state import RecordedRequest

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHENTICATED_PREFIXES = ("/interactions/", "/webhooks/")
UNKNOWN_ROUTE = "/{tail}"


async def record(emulator: DiscordEmulator, request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/":
        return await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical.removeprefix(API) if resource is not None else request.path
    body, files = await _read_body(request)
    recorded = RecordedRequest(
        request.method, request.path.removeprefix(API), route, dict(request.query), body, files,
        dict(request.headers), at=emulator.clock.now(),
    )
    emulator.requests.append(recorded)
    limit_headers: dict[str, str] = {}
    try:
        response = await _answer(emulator, request, handler, recorded, limit_headers)
    except DiscordError as error:
        response = json_response(error.body, error.status)
        recorded.response = error.body
    except RateLimited as limited:
        response = json_response(limited.body, 429, limited.headers)
        recorded.response = limited.body
        limit_headers = limited.headers
    response.headers.update(limit_headers)
    recorded.status = response.status
    recorded.response_headers = limit_headers
    await emulator._notify()
    return response


async def _answer(
    emulator: DiscordEmulator, request: web.Request, handler: Handler, recorded: RecordedRequest,
    limit_headers: dict[str, str],
) -> web.StreamResponse:
    for hold in emulator.holds:
        if hold[0] == recorded.method and hold[1] == recorded.route:
            emulator.holds.remove(hold)
            await emulator._notify()
            await hold[2].wait()
            break
    for fault in emulator.faults:
        if fault[0] == recorded.method and fault[1] == recorded.route:
            emulator.faults.remove(fault)
            recorded.response = fault[3]
            return json_response(fault[3], fault[2], fault[4])
    unauthenticated = recorded.route.startswith(UNAUTHENTICATED_PREFIXES)
    if not unauthenticated and request.headers.get("Authorization") != f"Bot {emulator.token}":
        raise DiscordError(401, 0, "401: Unauthorized")
    if recorded.route != UNKNOWN_ROUTE:
        params = dict(request.match_info)
        limit_headers.update(emulator.rate_limiter.check(recorded.method, recorded.route, params))
    if recorded.json is not None:
        errors = schema.body_errors(recorded.route, recorded.method, recorded.json)
        if errors:
            raise DiscordError(400, 50035, "Invalid Form Body", schema.discord_error_body(errors))
        if (too_big := schema.embed_rule_error(recorded.json)) is not None:
            raise DiscordError(400, 50035, "Invalid Form Body", too_big)
    request[RECORDED] = recorded
    response = await handler(request)
    for stall in emulator.stalls:
        if stall[0] == recorded.method and stall[1] == recorded.route:
            # Discord did the work; the answer never reaches the bot (it crashed, or the link broke).
            emulator.stalls.remove(stall)
            await emulator._notify()
            await stall[2].wait()
            break
    for cut in emulator.cuts:
        if cut == (recorded.method, recorded.route):
            # Discord did the work; the connection breaks before the answer (the network failed).
            emulator.cuts.remove(cut)
            if request.transport is not None:
                request.transport.abort()
            break
    return response


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    """(JSON body or payload_json, {filename: bytes} of files[n] parts)."""
    if not request.can_read_body:
        return None, {}
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            content = await part.read()
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(content)
            elif name.startswith("files["):
                files[part.filename or name] = bytes(content)
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), {}
