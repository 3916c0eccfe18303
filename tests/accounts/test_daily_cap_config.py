"""X_DAILY_ITEMS_PER_SERVER: an optional positive whole number; anything else is one ConfigError line."""

from __future__ import annotations

import pytest

from config import ENVIRONMENT_VARIABLES, ConfigError, settings_from

OAUTH1 = {"X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "1-t", "X_ACCESS_TOKEN_SECRET": "ts"}


def test_unset_means_no_cap_and_a_number_is_the_cap() -> None:
    assert settings_from({"DISCORD_TOKEN": "d", **OAUTH1}).x_daily_items_per_server is None
    settings = settings_from({"DISCORD_TOKEN": "d", **OAUTH1, "X_DAILY_ITEMS_PER_SERVER": " 5000 "})
    assert settings.x_daily_items_per_server == 5000
    assert "X_DAILY_ITEMS_PER_SERVER" in ENVIRONMENT_VARIABLES


@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5", "10 000"])
def test_a_malformed_cap_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from({"DISCORD_TOKEN": "d", **OAUTH1, "X_DAILY_ITEMS_PER_SERVER": value})
    message = str(raised.value)
    assert message.startswith("X_DAILY_ITEMS_PER_SERVER is malformed"), message
    assert "\n" not in message
