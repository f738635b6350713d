"""The console's settings, from the environment (prefix `HAIZHI_WEB_`), checked at start-up.

The console holds no database and never speaks to NATS: it knows the four services' addresses,
the notification service's if there is one (without it the inbox pages say that notifications
are not set up here), how to sign people in and how to sign its cookies. Production refuses the
development persona picker (it needs the development JWT secret) and the development cookie
secret.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import DEVELOPMENT_JWT_SECRET

#: Marked so that nobody mistakes it for a secret; production refuses to start with it.
DEVELOPMENT_SESSION_SECRET = "development-only-cookie-secret-never-use-in-production"
SERVICES = ("application", "review", "assessment", "funding")
#: The notification service: optional (`notification_url`), and not among `SERVICES`, which
#: every console needs and the audit pages ask in turn.
NOTIFICATION = "notification"


class WebSettings(BaseSettings):
    """The console's configuration; `web.main.create_app` builds it once and passes it down."""

    # A variable set empty counts as unset: compose cannot leave one out (a public OIDC client
    # has an empty secret there).
    model_config = SettingsConfigDict(
        env_prefix="HAIZHI_WEB_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    environment: Literal["development", "test", "production"] = "production"
    application_url: str = "http://127.0.0.1:8001"
    review_url: str = "http://127.0.0.1:8002"
    assessment_url: str = "http://127.0.0.1:8003"
    funding_url: str = "http://127.0.0.1:8004"
    #: The notification service (the inbox, mail preferences); None: not deployed here.
    notification_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    #: Signs the session cookie (itsdangerous); at least 32 bytes.
    session_secret: SecretStr = SecretStr(DEVELOPMENT_SESSION_SECRET)
    #: Hours a sign-in lasts (the cookie's and the development token's lifetime).
    session_hours: int = Field(default=12, ge=1, le=24)
    #: Development: the persona picker signs tokens with the services' development secret.
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwt_audience: str = "haizhi"
    jwt_issuer: str = "haizhi"
    #: Production: the OpenID provider (authorization code with PKCE).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    #: Where the browser reaches the console, for the OIDC redirect (`<public_url>/auth/callback`)
    #: and the QR code of a certificate. None: the address the request came to.
    public_url: str | None = None
    #: Seconds a call to a service may take before the page says it is unavailable.
    service_timeout: float = Field(default=15.0, gt=0)

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value().encode()) < 32:
            raise ValueError("session_secret must be at least 32 bytes")
        return secret

    @model_validator(mode="after")
    def _production_refuses_development_tools(self) -> WebSettings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("HAIZHI_WEB_OIDC_CLIENT_ID is needed with HAIZHI_WEB_OIDC_ISSUER")
        if self.environment != "production":
            return self
        refusals = []
        if self.session_secret.get_secret_value() == DEVELOPMENT_SESSION_SECRET:
            refusals.append("HAIZHI_WEB_SESSION_SECRET is the development secret")
        if not self.oidc_issuer:
            refusals.append("HAIZHI_WEB_OIDC_ISSUER is missing: production signs in with OIDC")
        elif urlsplit(self.oidc_issuer).scheme != "https":
            refusals.append("HAIZHI_WEB_OIDC_ISSUER must be https:// (the client secret and codes)")
        public = urlsplit(self.public_url or "")
        if public.scheme != "https" or not public.hostname:
            refusals.append("HAIZHI_WEB_PUBLIC_URL must be the console's https:// address")
        if refusals:
            raise ValueError("refused in production: " + "; ".join(refusals))
        return self

    @property
    def persona_picker(self) -> bool:
        """Development's sign-in: pick a role, unit and jurisdiction; never in production, nor
        with an identity provider. (A development deployment's own JWT secret does not change
        that: its services take any token signed with it, as `haizhi token` makes.)"""
        return self.environment != "production" and not self.oidc_issuer

    @property
    def secure_cookies(self) -> bool:
        return self.environment == "production"

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    @property
    def notifications(self) -> bool:
        """Whether the notification service is configured (the inbox pages need it)."""
        return bool(self.notification_url)
