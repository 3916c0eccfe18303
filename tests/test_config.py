"""config.settings_from: defaults, every refusal, and what stays out of repr()."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from config import ENVIRONMENT_VARIABLES, ConfigError, Settings, settings_from

REPO = Path(__file__).resolve().parents[1]

OAUTH1 = {
    "X_API_KEY": "key-1234", "X_API_SECRET": "secret-1234",
    "X_ACCESS_TOKEN": "1-access-1234", "X_ACCESS_TOKEN_SECRET": "access-secret-1234",
}
OAUTH2 = {"X_CLIENT_ID": "client-id", "X_OAUTH2_REFRESH_TOKEN": "refresh-1234"}


def test_defaults_with_oauth1() -> None:
    settings = settings_from({"DISCORD_TOKEN": "discord-1234", **OAUTH1})
    assert settings.user_auth_kind == "oauth1"
    assert settings.oauth1_credentials() == ("key-1234", "secret-1234", "1-access-1234", "access-secret-1234")
    assert settings.x_api_base_url == "https://api.x.com"
    assert settings.x_field_naming == "tweet"
    assert settings.database_path == Path("data/likelens.db")
    assert settings.log_level == "INFO"
    assert settings.dev_guild_id is None
    assert settings.x_account_guilds is None
    assert settings.x_bearer_token is None
    assert not settings.sandbox


def test_every_variable_is_read() -> None:
    settings = settings_from({
        "DISCORD_TOKEN": "discord-1234", **OAUTH2, "X_CLIENT_SECRET": "client-secret-1234",
        "X_BEARER_TOKEN": "bearer-1234", "X_API_BASE_URL": "http://127.0.0.1:8088/",
        "X_FIELD_NAMING": "post", "DATABASE_PATH": "/data/x.db", "LOG_LEVEL": "debug",
        "DEV_GUILD_ID": "123456789012345678", "X_ACCOUNT_GUILDS": "123456789012345678, 42,",
    })
    assert settings.user_auth_kind == "oauth2"
    assert settings.oauth2_credentials() == ("client-id", "client-secret-1234", "refresh-1234")
    assert settings.x_bearer_token == "bearer-1234"
    assert settings.x_api_base_url == "http://127.0.0.1:8088"
    assert settings.x_field_naming == "post"
    assert settings.database_path == Path("/data/x.db")
    assert settings.log_level == "DEBUG"
    assert settings.dev_guild_id == 123456789012345678
    assert settings.x_account_guilds == frozenset({123456789012345678, 42})


def test_sandbox_needs_only_the_discord_token_and_ignores_x_keys() -> None:
    settings = settings_from({"DISCORD_TOKEN": "discord-1234", "X_API_KEY": "half"}, sandbox=True)
    assert settings.sandbox and settings.user_auth_kind == "sandbox"
    assert settings.x_api_key is None


def test_repr_shows_no_secret_and_secrets_lists_them_all() -> None:
    env = {"DISCORD_TOKEN": "discord-1234", **OAUTH1, **OAUTH2, "X_CLIENT_SECRET": "cs-1234",
           "X_BEARER_TOKEN": "bearer-1234"}
    settings = settings_from(env)
    secret_values = [v for k, v in env.items() if k != "X_CLIENT_ID"]
    assert sorted(settings.secrets) == sorted(secret_values)
    assert not [v for v in secret_values if v in repr(settings)]


def test_blank_values_count_as_unset() -> None:
    settings = settings_from({"DISCORD_TOKEN": "d-1234", **OAUTH1, "LOG_LEVEL": "  ", "DEV_GUILD_ID": ""})
    assert settings.log_level == "INFO" and settings.dev_guild_id is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({**OAUTH1}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "d", **{k: v for k, v in OAUTH1.items() if k != "X_ACCESS_TOKEN_SECRET"}},
         "X_ACCESS_TOKEN_SECRET"),
        ({"DISCORD_TOKEN": "d", "X_API_KEY": "k"}, "X_API_SECRET"),
        ({"DISCORD_TOKEN": "d", "X_OAUTH2_REFRESH_TOKEN": "r"}, "X_CLIENT_ID"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "X_CLIENT_SECRET": "s"}, "X_CLIENT_ID"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "X_FIELD_NAMING": "tweets"}, "X_FIELD_NAMING"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "DEV_GUILD_ID": "my-server"}, "DEV_GUILD_ID"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "X_API_BASE_URL": "api.x.com"}, "X_API_BASE_URL"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "X_ACCOUNT_GUILDS": "123, my-server"}, "X_ACCOUNT_GUILDS"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "X_ACCOUNT_GUILDS": "123 456"}, "X_ACCOUNT_GUILDS"),
        ({"DISCORD_TOKEN": "d", **OAUTH1, "X_ACCOUNT_GUILDS": ","}, "X_ACCOUNT_GUILDS"),
        ({"DISCORD_TOKEN": "d", "WEB_PORT": "http"}, "WEB_PORT"),
        ({"DISCORD_TOKEN": "d", "WEB_PORT": "70000"}, "WEB_PORT"),
        ({"DISCORD_TOKEN": "d", "PUBLIC_BASE_URL": "likelens.example.org"}, "PUBLIC_BASE_URL"),
        ({"DISCORD_TOKEN": "d", "PUBLIC_BASE_URL": "https://likelens.example.org/?x=1"}, "PUBLIC_BASE_URL"),
        ({"DISCORD_TOKEN": "d", "X_AUTHORIZE_URL": "x.com/i/oauth2/authorize"}, "X_AUTHORIZE_URL"),
    ],
)
def test_each_problem_is_one_line_naming_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from(env)
    message = str(raised.value)
    assert message.startswith(variable), message
    assert "\n" not in message


def test_x_account_guilds_is_read_in_sandbox_mode_too() -> None:
    settings = settings_from({"DISCORD_TOKEN": "d", "X_ACCOUNT_GUILDS": "7"}, sandbox=True)
    assert settings.x_account_guilds == frozenset({7})


def test_settings_are_frozen() -> None:
    settings = Settings(discord_token="d")
    with pytest.raises(AttributeError):
        settings.log_level = "DEBUG"  # type: ignore[misc]


def test_env_example_documents_every_variable_and_configures_nothing_secret() -> None:
    values = dotenv_values(REPO / ".env.example")
    assert sorted(values) == sorted(ENVIRONMENT_VARIABLES)
    with pytest.raises(ConfigError, match=r"^DISCORD_TOKEN"):
        settings_from({k: v or "" for k, v in values.items()})


def test_every_variable_that_settings_from_reads_is_listed() -> None:
    class Recording(dict[str, str]):
        def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
            read.add(key)
            return super().get(key, default)

    read: set[str] = set()
    settings_from(Recording({"DISCORD_TOKEN": "d", **OAUTH1, **OAUTH2}))
    assert read == set(ENVIRONMENT_VARIABLES)


def test_the_web_server_and_the_consent_page_have_defaults() -> None:
    settings = settings_from({"DISCORD_TOKEN": "d", **OAUTH1})
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert settings.x_authorize_url == "https://x.com/i/oauth2/authorize"


def test_the_public_base_url_follows_web_port_unless_set() -> None:
    settings = settings_from({"DISCORD_TOKEN": "d", "WEB_HOST": "0.0.0.0", "WEB_PORT": "9000"})
    assert (settings.web_host, settings.web_port, settings.public_base_url) == (
        "0.0.0.0", 9000, "http://127.0.0.1:9000")
    settings = settings_from({"DISCORD_TOKEN": "d", "PUBLIC_BASE_URL": "https://likes.example.org/"})
    assert settings.public_base_url == "https://likes.example.org"
    # Port 0 (tests): a free port, and the base URL is the address bound to, known once listening.
    free = settings_from({"DISCORD_TOKEN": "d", "WEB_PORT": "0"})
    assert (free.web_port, free.public_base_url) == (0, None)


def test_a_client_id_alone_enables_connect_and_no_credentials_at_all_start_the_bot() -> None:
    # X_CLIENT_ID alone: servers connect their own accounts with /x connect; no configured account.
    alone = settings_from({"DISCORD_TOKEN": "d", "X_CLIENT_ID": "c"})
    assert alone.x_client_id == "c" and alone.oauth2_credentials() is None
    assert alone.oauth1_credentials() is None and not alone.has_configured_account
    # Nothing at all: the bot starts and serves only the servers that connected an account.
    bare = settings_from({"DISCORD_TOKEN": "d"})
    assert bare.x_client_id is None and not bare.has_configured_account
    assert settings_from({"DISCORD_TOKEN": "d", **OAUTH1}).has_configured_account
    assert settings_from({"DISCORD_TOKEN": "d", **OAUTH2}).has_configured_account
