"""Settings: read from HAIZHI_* variables; production refuses the development tools."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.db import async_database_url
from shared.nats_auth import nats_servers, with_credentials, without_credentials
from shared.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings

PRODUCTION = {
    "environment": "production",
    "service": "probe",
    "jwt_secret": "a-real-secret-from-the-vault-0123456789",
    "oidc_jwks_url": "https://login.example/.well-known/jwks.json",
    "database_url": "postgresql://probe@db.example:5432/probe",
    "signing_key": "/run/secrets/probe.key",
    "trusted_keys_dir": "/etc/haizhi/trusted",
    "nats_user": "probe",
    "nats_password": "a-nats-password-from-the-vault",
    "console_public_url": "https://haizhi.example.cn",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("HAIZHI_")]:
        monkeypatch.delenv(name)


def test_development_defaults_use_the_controlled_clock_and_sqlite_under_the_data_dir() -> None:
    settings = ServiceSettings(service="probe", environment="development", data_dir=Path("/data"))

    assert settings.environment == "development"
    assert settings.clock == "controlled"
    assert settings.database_url == "sqlite:////data/probe.db"
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:////data/probe.db"
    assert settings.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.attachment_max_bytes == 20 * 1024 * 1024
    assert settings.log_json is None


def test_values_come_from_haizhi_prefixed_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAIZHI_ENVIRONMENT", "development")
    monkeypatch.setenv("HAIZHI_SERVICE", "probe")
    monkeypatch.setenv("HAIZHI_NATS_URL", "nats://10.0.0.1:4222")
    monkeypatch.setenv("HAIZHI_HTTP_PORT", "8123")
    monkeypatch.setenv("HAIZHI_LOG_JSON", "true")
    monkeypatch.setenv("HAIZHI_DATABASE_URL", "sqlite:///var/probe.db")

    settings = ServiceSettings()

    assert (settings.service, settings.nats_url) == ("probe", "nats://10.0.0.1:4222")
    assert settings.http_port == 8123
    assert settings.log_json is True
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:///var/probe.db"


def test_a_complete_production_configuration_is_accepted_and_runs_on_the_system_clock() -> None:
    settings = ServiceSettings(**PRODUCTION)  # type: ignore[arg-type]

    assert settings.clock == "system"
    assert settings.sqlalchemy_url == "postgresql+asyncpg://probe@db.example:5432/probe"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"jwt_secret": DEVELOPMENT_JWT_SECRET}, "development secret"),
        ({"oidc_jwks_url": None}, "HAIZHI_OIDC_JWKS_URL is missing"),
        ({"clock": "controlled"}, "HAIZHI_CLOCK is 'controlled'"),
        ({"database_url": "sqlite:///var/probe.db"}, "SQLite"),
        ({"signing_key": None}, "HAIZHI_SIGNING_KEY is missing"),
        ({"trusted_keys_dir": None}, "HAIZHI_TRUSTED_KEYS_DIR is missing"),
        ({"nats_user": None}, "HAIZHI_NATS_USER/HAIZHI_NATS_PASSWORD missing"),
        ({"nats_password": None}, "HAIZHI_NATS_USER/HAIZHI_NATS_PASSWORD missing"),
        # a certificate's QR code printed for 127.0.0.1 (the default) would open nothing
        ({"console_public_url": "http://127.0.0.1:8000"}, "HAIZHI_CONSOLE_PUBLIC_URL is not https"),
        ({"console_public_url": "http://haizhi.example.cn"}, "HAIZHI_CONSOLE_PUBLIC_URL is not"),
    ],
)
def test_production_refuses_development_tools(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(**{**PRODUCTION, **override})  # type: ignore[arg-type]


def test_settings_default_to_production_so_a_forgotten_environment_refuses_the_dev_secret() -> None:
    with pytest.raises(ValidationError, match="HAIZHI_JWT_SECRET is the development secret"):
        ServiceSettings(service="probe")


def test_development_is_only_ever_chosen_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAIZHI_ENVIRONMENT", "development")

    assert ServiceSettings(service="probe").environment == "development"


def test_the_json_body_limit_is_one_mebibyte_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ServiceSettings(service="probe", environment="test").max_json_bytes == 1024 * 1024
    monkeypatch.setenv("HAIZHI_MAX_JSON_BYTES", "4096")

    assert ServiceSettings(service="probe", environment="test").max_json_bytes == 4096


def test_production_names_every_refusal_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(environment="production", service="probe")

    text = str(refused.value)
    for reason in ("development secret", "OIDC_JWKS_URL", "SQLite"):
        assert reason in text


def test_a_short_jwt_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        ServiceSettings(service="probe", jwt_secret="short")


def test_a_service_name_must_be_a_subject_token() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(service="has.dots")


def test_an_unsupported_database_url_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="unsupported database URL"):
        ServiceSettings(service="probe", database_url="mysql://probe@db/probe")


@pytest.mark.parametrize(
    ("plain", "async_url"),
    [
        ("sqlite:///var/probe.db", "sqlite+aiosqlite:///var/probe.db"),
        ("sqlite:////abs/probe.db", "sqlite+aiosqlite:////abs/probe.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_async_database_url_names_the_async_driver(plain: str, async_url: str) -> None:
    assert async_database_url(plain) == async_url


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u@h/db",
        "not a url",
        "",
        "sqlite+:///x.db",
        "oracle+cx://u@h/db",
        "sqlite:///x.db?timeout=30",  # SQLite options would be dropped: refused, not ignored
        "sqlite:///file:x.db?mode=ro&uri=true",
    ],
)
def test_async_database_url_refuses_other_databases(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        async_database_url(url)


def test_a_cluster_url_names_each_server_and_credentials_go_to_every_one() -> None:
    url = "nats://n1:4222, nats://n2:4223"
    assert nats_servers(url) == ["nats://n1:4222", "nats://n2:4223"]
    signed_in = with_credentials(url, "review", "p@ss:word")
    assert nats_servers(signed_in) == [
        "nats://review:p%40ss%3Aword@n1:4222",
        "nats://review:p%40ss%3Aword@n2:4223",
    ]
    assert without_credentials(signed_in) == "nats://n1:4222,nats://n2:4223"
    settings = ServiceSettings(service="review", environment="development", nats_url=url)
    assert settings.nats_servers == ["nats://n1:4222", "nats://n2:4223"]


def test_a_nats_url_without_a_server_is_refused() -> None:
    with pytest.raises(ValidationError, match="no NATS server"):
        ServiceSettings(service="review", environment="development", nats_url=" , ")
