"""The notification service's settings: the kernel's, and the SMTP server its mails go to.

Production refuses an SMTP server spoken to in clear (`HAIZHI_SMTP_TLS=none`) and the
development defaults (the local sink on 127.0.0.1:1025, the development sender address).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from shared.settings import ServiceSettings

DEVELOPMENT_SMTP_HOST = "127.0.0.1"
DEVELOPMENT_SMTP_PORT = 1025
DEVELOPMENT_MAIL_FROM = "HaiZhi Cases (development) <noreply@haizhi.invalid>"


class NotificationSettings(ServiceSettings):
    service: str = "notification"
    http_port: int = Field(default=8005, ge=0, le=65535)
    smtp_host: str = DEVELOPMENT_SMTP_HOST
    smtp_port: int = Field(default=DEVELOPMENT_SMTP_PORT, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    #: none: plain SMTP (the development sink only); starttls: upgrade on 587; tls: 465.
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    #: Seconds a single SMTP conversation may take before it counts as failed (and is retried).
    smtp_timeout: float = Field(default=30.0, gt=0)
    #: The first retry's wait after a failed delivery; each next one doubles, up to 10 minutes.
    smtp_retry_seconds: float = Field(default=2.0, gt=0)
    #: After this many failed tries a mail is given up (recorded as `MailRefused`, "gave up").
    smtp_give_up_attempts: int = Field(default=100, ge=1)
    mail_from: str = DEVELOPMENT_MAIL_FROM
    #: An upstream event older than this (by the service's clock) is recorded and told to
    #: nobody: the whole history a first deployment reads is not mailed out.
    notify_within_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _production_mails_safely(self) -> NotificationSettings:
        if self.environment != "production":
            return self
        refusals = []
        if self.smtp_tls == "none":
            refusals.append("HAIZHI_SMTP_TLS is 'none': production mails over TLS")
        if (self.smtp_host, self.smtp_port) == (DEVELOPMENT_SMTP_HOST, DEVELOPMENT_SMTP_PORT):
            refusals.append("HAIZHI_SMTP_HOST/PORT is the development sink")
        if self.mail_from == DEVELOPMENT_MAIL_FROM:
            refusals.append("HAIZHI_MAIL_FROM is the development sender")
        if refusals:
            raise ValueError("refused in production: " + "; ".join(refusals))
        return self


def notification_settings(settings: ServiceSettings) -> NotificationSettings:
    """`settings` as the notifier's (a kernel built with the base settings gets the defaults
    and the environment's `HAIZHI_SMTP_*`)."""
    if isinstance(settings, NotificationSettings):
        return settings
    return NotificationSettings.model_validate(
        {name: getattr(settings, name) for name in type(settings).model_fields}
    )
