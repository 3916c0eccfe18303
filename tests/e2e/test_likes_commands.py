"""/likes liked, check, export and status end to end, and the details of /likes post's answer."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.botharness import InteractionDriver
from tests.e2e.likes_support import assert_no_pings, next_id
from ui.csv_export import EXPORT_COLUMNS
from xapi import sandbox
from xapi.sandbox import XSandbox


async def test_likes_post_public_is_visible_to_everyone(driver: InteractionDriver) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_7_LIKES, public=True)
    assert not result.ephemeral
    assert len(result.embed["fields"]) == 7
    # Seven likers fit one page: no buttons to press.
    assert result.response.buttons == {}
    assert result.embed["footer"]["text"].startswith("Page 1 of 1")
    assert_no_pings(result)


async def test_likes_post_says_when_x_returned_fewer_likers_than_the_like_count(
    driver: InteractionDriver,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_MANY_LIKES)
    description = result.embed["description"]
    assert "140 likes on X" in description
    # One sentence, said once.
    assert ("X lists 100 of the 140 likes: it returns at most 100 likers per post and leaves out "
            "protected and suspended accounts.") in description.splitlines()
    assert description.count("at most 100") == 1


async def test_likes_post_escapes_what_x_returns(driver: InteractionDriver) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    names = []
    for _ in range(10):
        names += [f"{f['name']}\n{f['value']}" for f in result.embed["fields"]]
        if result.response.buttons.get(next_id(result), {}).get("disabled"):
            break
        result = await driver.click(result, next_id(result))
    text = "\n".join(names)
    # Seeded names include "@everyone", "**bold** _fan_" and "[link](https://x.com)".
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert "**bold**" not in text and "\\*\\*bold\\*\\*" in text
    # A name that is a masked link is shown as text: its bracket escaped, never a link to click.
    assert "\\[link](https://x.com)" in text
    assert "[link](https://x.com)" not in text.replace("\\[link](https://x.com)", "")


async def test_likes_post_for_a_post_without_likes(driver: InteractionDriver) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_NO_LIKES)
    assert "Nobody X can show has liked this post yet." in result.embed["description"]
    assert "fields" not in result.embed or result.embed["fields"] == []


async def test_one_like_and_one_liker_are_said_in_the_singular(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    x_sandbox.add_likers(sandbox.POST_NO_LIKES, 1)

    post = await driver.slash("likes post", post=sandbox.POST_NO_LIKES)
    export = await driver.slash("likes export", post=sandbox.POST_NO_LIKES)

    assert "❤️ 1 like on X ·" in post.embed["description"]
    assert export.content.startswith(f"1 liker of post {sandbox.POST_NO_LIKES} (")


async def test_likes_liked_browses_the_accounts_likes_in_three_requests(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes liked")
    embed = result.embed
    assert embed["title"] == "Posts liked by @likelens\\_demo"
    assert embed["footer"]["text"].startswith("Page 1")
    assert " of " not in embed["footer"]["text"]  # the end is not known yet
    first = embed["fields"][0]
    assert re.search(r"\(@[\w\\]+\)$", first["name"])
    assert "<t:" in first["value"] and "❤️" in first["value"] and "[open](https://x.com/" in first["value"]
    pages = 1
    while not result.response.buttons[next_id(result)].get("disabled"):
        result = await driver.click(result, next_id(result))
        pages += 1
    assert pages == 25
    assert result.embed["footer"]["text"].startswith("Page 25 of 25")
    assert result.embed["fields"][-1]["name"].startswith("250. ")
    assert len(x_sandbox.requests_to("liked_tweets")) == 3


async def test_likes_liked_by_the_accounts_own_id(driver: InteractionDriver) -> None:
    result = await driver.slash("likes liked", user=f"id:{sandbox.OWNER_ID}")
    assert result.embed["title"] == "Posts liked by @likelens\\_demo"


async def liker_handle(driver: InteractionDriver, post_id: str) -> str:
    result = await driver.slash("likes post", post=post_id)
    match = re.search(r"\[@([A-Za-z0-9_\\]+)\]", result.embed["fields"][0]["value"])
    assert match
    return match.group(1).replace("\\", "")


async def test_likes_check_yes_uses_the_cached_likers(driver: InteractionDriver, x_sandbox: XSandbox) -> None:
    handle = await liker_handle(driver, sandbox.POST_7_LIKES)

    result = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user=f"@{handle}")

    assert result.ephemeral
    assert result.embed["title"] == "Yes: they liked this post"
    assert f"https://x.com/{handle}" in result.embed["fields"][0]["value"]
    assert len(x_sandbox.requests_to("liking_users")) == 1  # the paginator's page, from the cache
    assert_no_pings(result)


async def test_likes_check_no(driver: InteractionDriver) -> None:
    result = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="@other_public")
    assert result.embed["title"] == "No: not among the post's likers"
    assert "@other\\_public" in result.embed["fields"][0]["value"]


@pytest.mark.parametrize(("post_id", "caveat"), [
    (sandbox.POST_NO_LIKES, False), (sandbox.POST_7_LIKES, False), (sandbox.POST_MANY_LIKES, True),
])
async def test_likes_check_no_warns_of_hidden_likers_only_when_x_listed_fewer_than_the_like_count(
    driver: InteractionDriver, post_id: str, caveat: bool,
) -> None:
    result = await driver.slash("likes check", post=post_id, user="@other_public")

    assert result.embed["title"] == "No: not among the post's likers"
    # 0 of 0 and 7 of 7 likers listed: nobody is hidden. 100 of 140: 40 likes X does not show.
    assert ("X lists at most 100 likers per post" in result.embed["description"]) is caveat


async def test_likes_check_by_numeric_id_shows_the_likers_card_or_a_plain_one(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    fan = x_sandbox.world.user_by_username("fan_0000")  # the first of POST_7_LIKES' likers
    assert fan is not None
    liker_id = f"id:{fan.id}"
    yes = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user=liker_id)
    no = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user=sandbox.USER_OTHER_ID)

    assert yes.embed["title"] == "Yes: they liked this post"
    assert "[@fan\\_0000](https://x.com/fan_0000) · joined <t:" in yes.embed["fields"][0]["value"]
    assert no.embed["title"] == "No: not among the post's likers"
    card = no.embed["fields"][0]
    assert card["name"] == f"X account {sandbox.USER_OTHER_ID}"
    assert card["value"].startswith(
        f"[id:{sandbox.USER_OTHER_ID}](https://x.com/i/user/{sandbox.USER_OTHER_ID})")
    # Nothing X did not say is shown as a placeholder.
    assert "unknown" not in card["value"] and "?" not in card["value"]


async def test_likes_check_of_a_protected_account_says_x_cannot_tell(driver: InteractionDriver) -> None:
    result = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="@locked_fan")
    assert result.embed["title"] == "No: not among the post's likers"
    assert "protected" in result.embed["description"]


async def test_likes_export_attaches_every_liker_as_csv_with_a_progress_line(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes export", post=sandbox.POST_100_LIKES)

    assert result.ephemeral
    name = f"likers-{sandbox.POST_100_LIKES}.csv"
    rows = list(csv.reader(io.StringIO(result.response.files[name].decode("utf-8-sig"))))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) == 101 and len({row[0] for row in rows[1:]}) == 100
    assert all(row[3] in ("true", "false") and row[5].isdigit() for row in rows[1:])
    assert result.content.startswith("100 likers of post")
    progress = [str(r.json.get("content")) for r in result.requests
                if r.method == "PATCH" and isinstance(r.json, dict) and r.json.get("content")]
    assert progress[0].startswith("Fetching likers from X: page 1, 0 so far")
    assert len(x_sandbox.requests_to("liking_users")) == 1
    assert_no_pings(result)


def items_answered(x_sandbox: XSandbox) -> dict[str, int]:
    """Users and posts in every answer the X sandbox sent (data and includes), counted from its bodies."""
    counts = {"users": 0, "posts": 0}
    for exchange in x_sandbox.exchanges:
        body = exchange.body
        if not isinstance(body, dict):
            continue
        data = body.get("data")
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        kind = "users" if exchange.request.path.split("/")[-1] in ("me", "liking_users") else "posts"
        counts[kind] += len(items)
        includes = body.get("includes") or {}
        counts["users"] += len(includes.get("users", []))
        counts["posts"] += len(includes.get("tweets", includes.get("posts", [])))
    return counts


async def test_likes_status_shows_the_account_budgets_and_todays_reads(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    await driver.slash("likes post", post=sandbox.POST_100_LIKES)

    result = await driver.slash("likes status")

    assert result.ephemeral
    embed = result.embed
    assert "@likelens\\_demo" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "`liking_users`: 74/75 left, resets <t:" in fields["Rate-limit budget per endpoint"]
    today = fields["Today (UTC)"].splitlines()
    # The first /likes post asked X three times (post, account, likers): that is all X received.
    assert len(x_sandbox.requests) == 3
    assert today[0] == "Requests sent: 3"
    # The second /likes post's three lookups and the status's own account lookup came from the cache.
    assert today[1] == "Cache hits: 4"
    assert today[2] == "Single-flight joins: 0"
    items = items_answered(x_sandbox)
    assert items["users"] > 100 and items["posts"] > 0
    assert today[3] == f"Items read: {items['users']:,} users, {items['posts']:,} posts"
    assert "estimate" in fields["Estimated cost today"]
    assert f"about ${items['users'] * 0.010 + items['posts'] * 0.005:.2f}" in fields["Estimated cost today"]


async def test_likes_status_when_x_fails_says_the_account_is_unknown_and_why(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    x_sandbox.faults.server_error_ratio = 1.0

    result = await driver.slash("likes status")

    lines = result.embed["description"].splitlines()
    assert lines[0] == "Connected X account: unknown"
    assert lines[1].startswith("-# X is having trouble (it answered with an error")
    assert "Rate-limit budget per endpoint" in {f["name"] for f in result.embed["fields"]}
