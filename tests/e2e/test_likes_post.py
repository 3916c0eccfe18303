"""/likes post end to end: the likers paginator through the Discord emulator and the X sandbox."""

from __future__ import annotations

from tests.botharness import InteractionDriver
from tests.e2e.likes_support import assert_no_pings, next_id, previous_id
from xapi import sandbox
from xapi.sandbox import XSandbox


async def test_likers_of_a_post_show_ten_per_page_under_the_post_header(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes post", post=f"https://x.com/likelens_demo/status/{sandbox.POST_100_LIKES}")

    assert result.callback_type == 5 and result.ephemeral
    embed = result.embed
    assert embed["title"] == "Who liked this post"
    assert "100 likes on X" in embed["description"]
    assert len(embed["fields"]) == 10
    first = embed["fields"][0]
    assert first["name"].startswith("1. ")
    assert "](https://x.com/" in first["value"] and "followers" in first["value"] and "<t:" in first["value"]
    assert embed["footer"]["text"].startswith("Page 1 of 10")
    buttons = result.response.buttons
    assert buttons[previous_id(result)]["disabled"] is True
    assert buttons[next_id(result)].get("disabled") in (None, False)
    assert_no_pings(result)


async def test_browsing_100_likers_forward_and_back_sends_one_request(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    seen = [result.embed["fields"][0]["name"]]
    for _ in range(9):
        result = await driver.click(result, next_id(result))
        seen.append(result.embed["fields"][0]["name"])
    assert result.embed["footer"]["text"].startswith("Page 10 of 10")
    assert result.response.buttons[next_id(result)]["disabled"] is True
    for _ in range(9):
        result = await driver.click(result, previous_id(result))
    assert result.embed["footer"]["text"].startswith("Page 1 of 10")
    assert [name.split(" ", 1)[0] for name in seen] == [f"{n}." for n in range(1, 92, 10)]
    assert len(x_sandbox.requests_to("liking_users")) == 1
