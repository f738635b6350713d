"""Settings every service reads from the environment (prefix `HAIZHI_`), checked at start-up.

Production refuses what only development may use: the development JWT secret, HS256 tokens
instead of an OIDC provider's keys, the controllable clock and SQLite.

`StoreSettings` (a service's database) and `BusSettings` (its way onto NATS) are the parts a
deployment's one-shot steps read as well (`shared.migrate`, `shared.reconcile`,
`shared.provision`, `shared.stream_backup`); `ServiceSettings` is all of them and the rest.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import async_database_url
from shared.nats_auth import nats_servers

# Marked so that nobody mistakes it for a secret; production refuses to start with it.
DEVELOPMENT_JWT_SECRET = "development-only-secret-never-use-in-production"

Environment = Literal["development", "test", "production"]
ClockKind = Literal["system", "controlled"]


def _default_clock(data: dict[str, Any]) -> ClockKind:
    return "system" if data.get("environment") == "production" else "controlled"


def _default_database_url(data: dict[str, Any]) -> str:
    data_dir = Path(data.get("data_dir", "var"))
    return f"sqlite:///{data_dir / data.get('service', 'service')}.db"


#: What a service is called: a token of its subjects (`haizhi.<service>.…`) and a file name.
SERVICE_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_FROM_ENVIRONMENT = SettingsConfigDict(env_prefix="HAIZHI_", frozen=True, extra="ignore")


class StoreSettings(BaseSettings):
    """A service's database: what the service and its one-shot steps connect to."""

    model_config = _FROM_ENVIRONMENT

    database_url: str
    #: PostgreSQL schema (search_path) holding this service's tables; None = the default.
    database_schema: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]*$")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        async_database_url(url)
        return url

    @property
    def sqlalchemy_url(self) -> str:
        """`database_url` with its async driver named, for `create_async_engine`."""
        return async_database_url(self.database_url)


class BusSettings(BaseSettings):
    """The way onto NATS: the servers, and the user a process speaks as."""

    model_config = _FROM_ENVIRONMENT

    #: One server, or a cluster's servers separated by commas (`nats_servers`).
    nats_url: str = "nats://127.0.0.1:4222"
    #: The NATS user and password (`shared/nats_auth.py`): a service's own, or the operator's
    #: for the provisioning steps. None: the URL says (a development server without users);
    #: production refuses to connect a service anonymously.
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    #: Replicas of the HAIZHI streams: 1 on the embedded server, 3 on a production cluster.
    nats_replicas: int = Field(default=1, ge=1, le=5)

    @field_validator("nats_url")
    @classmethod
    def _some_server(cls, url: str) -> str:
        nats_servers(url)
        return url

    @property
    def nats_servers(self) -> list[str]:
        """`nats_url` as the list of servers a client connects to (and fails over between)."""
        return nats_servers(self.nats_url)


class _Identity(BaseSettings):
    """Who the service is and where its files are. A base of its own, listed last below, so
    that its fields come first: `database_url`'s default is made from them."""

    model_config = _FROM_ENVIRONMENT

    #: Production unless set: a deployment that forgets it still refuses the development secret,
    #: HS256 tokens, SQLite and the controlled clock. `haizhi up` and the test kit set it.
    environment: Environment = "production"
    service: str = Field(pattern=rf"^{SERVICE_NAME.pattern}$")
    data_dir: Path = Path("var")


class ServiceSettings(StoreSettings, BusSettings, _Identity):
    """One service's configuration; `main.py` builds it once and passes it down."""

    database_url: str = Field(default_factory=_default_database_url)
    #: Migrate the database as the service starts (development, one replica). With replicas,
    #: false: the deployment's migration step runs once, each replica only checks the schema.
    migrate_on_start: bool = True
    #: Seconds before JetStream redelivers what a consumer fetched and did not acknowledge (a
    #: batch in hand when its process stopped). Set when a durable consumer is first created.
    consumer_ack_wait: float = Field(default=30.0, gt=0)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwt_audience: str = "haizhi"
    jwt_issuer: str = "haizhi"
    oidc_jwks_url: str | None = None
    clock: ClockKind = Field(default_factory=_default_clock)
    policy_dir: Path = Path("policies")
    log_json: bool | None = None  # None: JSON when stderr is not a terminal
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    #: Any request body but an attachment's (multipart): larger is a 413, read no further.
    max_json_bytes: int = Field(default=1024 * 1024, gt=0)
    #: PEM file of this service's Ed25519 key, which signs every event it appends. None: the
    #: development default `<data_dir>/keys/<service>.key`, generated (0600) at first start;
    #: production refuses to start without one.
    signing_key: Path | None = None
    #: Directory of the public keys every consumer trusts (`<service>[.<any>].pem`, several per
    #: service during a rotation). None: `<data_dir>/keys/trusted`.
    trusted_keys_dir: Path | None = None
    #: Deliveries a gap (an event whose predecessor never came) waits before it is parked in
    #: the dead letters with `gap-unfilled` (at `gap_delay` 0.5 s each: ten minutes).
    consumer_max_gap_deliveries: int = Field(default=1200, ge=1)
    #: The web console's public address (production: https): documents print links to its
    #: public pages (the plaque certificate's QR code opens
    #: `<console_public_url>/certificates/<number>`), the notification service's mails link to it.
    console_public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://\S+$")

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr) -> SecretStr:
        # RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
        if len(secret.get_secret_value().encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes")
        return secret

    @model_validator(mode="after")
    def _production_refuses_development_tools(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        refusals = []
        if self.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET:
            refusals.append("HAIZHI_JWT_SECRET is the development secret")
        if not self.oidc_jwks_url:
            refusals.append("HAIZHI_OIDC_JWKS_URL is missing: production verifies OIDC keys")
        if self.clock == "controlled":
            refusals.append("HAIZHI_CLOCK is 'controlled': production runs on the system clock")
        if self.database_url.startswith("sqlite"):
            refusals.append("HAIZHI_DATABASE_URL is SQLite: production uses PostgreSQL")
        if not self.nats_user or self.nats_password is None:
            refusals.append("HAIZHI_NATS_USER/HAIZHI_NATS_PASSWORD missing: NATS needs its user")
        if self.signing_key is None:
            refusals.append("HAIZHI_SIGNING_KEY is missing: production signs with a key of its own")
        if self.trusted_keys_dir is None:
            refusals.append("HAIZHI_TRUSTED_KEYS_DIR is missing: production names whom it trusts")
        if not self.console_public_url.startswith("https://"):
            refusals.append(
                "HAIZHI_CONSOLE_PUBLIC_URL is not https: documents print it, mails link to it"
            )
        if refusals:
            raise ValueError("refused in production: " + "; ".join(refusals))
        return self

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.data_dir / "keys" / f"{self.service}.key"

    @property
    def trusted_keys_path(self) -> Path:
        return self.trusted_keys_dir or self.data_dir / "keys" / "trusted"
