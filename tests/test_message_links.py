"""Finding X post links in a message (cogs/message_commands.py): what Discord users write around them."""

from __future__ import annotations

import pytest

from cogs.message_commands import PostLink, pick_link, post_links

ID = "1860000000000000002"


@pytest.mark.parametrize(("text", "found"), [
    (f"see https://x.com/maple_guild/status/{ID}.", [PostLink(ID, "maple_guild")]),
    (f"[the post](https://twitter.com/Maple_Guild/status/{ID}?s=20)", [PostLink(ID, "Maple_Guild")]),
    (f"<https://fxtwitter.com/maple_guild/status/{ID}>", [PostLink(ID, "maple_guild")]),
    (f"x.com/maple_guild/status/{ID}!", [PostLink(ID, "maple_guild")]),
    (f"https://x.com/i/web/status/{ID}", [PostLink(ID, None)]),
    (f"**https://x.com/maple_guild/status/{ID}**", [PostLink(ID, "maple_guild")]),
    (f"https://evilx.com/maple_guild/status/{ID} https://x.com.evil.example/a/status/{ID}", []),
    ("https://x.com/maple_guild and https://example.org/status/1", []),
])
def test_post_links_people_write(text: str, found: list[PostLink]) -> None:
    assert post_links(iter([text])) == found


def test_the_accounts_own_link_wins_else_the_first() -> None:
    links = [PostLink("1", "other"), PostLink("2", None), PostLink("3", "Maple_Guild")]
    assert pick_link(links, "maple_guild") == PostLink("3", "Maple_Guild")
    assert pick_link(links, "harbor_club") == PostLink("1", "other")
    assert pick_link([], "maple_guild") is None
