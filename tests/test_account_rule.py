"""accounts.rule: which servers the configured X account serves, and the start-up line that says none."""

from __future__ import annotations

import pytest

from accounts.rule import (
    DM_REFUSAL,
    SERVER_REFUSAL,
    configured_account_serves,
    refusal_sentence,
    unserved_servers_notice,
)

LISTED = frozenset({111, 222})


@pytest.mark.parametrize("public", [False, True])
@pytest.mark.parametrize("listed", [None, LISTED])
@pytest.mark.parametrize("guild_id", [None, 111, 333])
def test_the_sandbox_serves_every_server_and_direct_messages(
    public: bool, listed: frozenset[int] | None, guild_id: int | None
) -> None:
    assert configured_account_serves(guild_id, sandbox=True, listed=listed, application_public=public)


@pytest.mark.parametrize("public", [False, True])
def test_x_account_guilds_serves_exactly_the_listed_servers(public: bool) -> None:
    def serves(guild_id: int | None) -> bool:
        return configured_account_serves(guild_id, sandbox=False, listed=LISTED, application_public=public)

    assert serves(111) and serves(222)
    assert not serves(333)
    assert not serves(None)


def test_unset_serves_every_server_of_a_private_application_and_none_of_a_public_one() -> None:
    assert configured_account_serves(333, sandbox=False, listed=None, application_public=False)
    assert not configured_account_serves(333, sandbox=False, listed=None, application_public=True)


@pytest.mark.parametrize("public", [False, True])
def test_a_direct_message_is_refused_outside_the_sandbox(public: bool) -> None:
    assert not configured_account_serves(None, sandbox=False, listed=None, application_public=public)


def test_the_refusals_are_one_sentence_naming_x_connect() -> None:
    assert refusal_sentence(333) == SERVER_REFUSAL
    assert refusal_sentence(None) == DM_REFUSAL
    for sentence in (SERVER_REFUSAL, DM_REFUSAL):
        assert "`/x connect`" in sentence
        assert sentence.endswith(".") and sentence.count(". ") == 0 and "\n" not in sentence


def test_the_notice_names_the_variable_and_the_servers_only_when_nothing_is_served() -> None:
    notice = unserved_servers_notice(
        sandbox=False, listed=None, application_public=True, guild_ids=[222, 111]
    )
    assert notice is not None and "\n" not in notice
    assert "X_ACCOUNT_GUILDS" in notice and "111, 222" in notice
    quiet = [
        dict(sandbox=True, listed=None, application_public=True),
        dict(sandbox=False, listed=LISTED, application_public=True),
        dict(sandbox=False, listed=None, application_public=False),
    ]
    for case in quiet:
        assert unserved_servers_notice(guild_ids=[111], **case) is None  # type: ignore[arg-type]


def test_the_notice_of_a_bot_in_no_server_says_so() -> None:
    notice = unserved_servers_notice(sandbox=False, listed=None, application_public=True, guild_ids=[])
    assert notice is not None and "in no server yet" in notice
