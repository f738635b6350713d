"""Every kind reads in Chinese and English, naming the case, what to do and where; production
refuses the development mail set-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ..domain.events import Kind
from ..domain.templates import render
from ..settings import NotificationSettings

FACTS = {
    "application_id": "app-1",
    "base_id": "base-1",
    "review_id": "rv-1",
    "renewal_id": "rn-1",
    "revision": "2",
    "plan_id": "plan-1",
    "year": "2023",
    "due_on": "2024-01-31",
    "deadline": "2024-06-30",
    "amount_fen": "20000000",
    "number": "1",
    "level": "prefecture",
    "reasons": "材料不全",
    "unit_name": "昆明高新技术产业开发区",
    "certificate_no": "HZ-2022-01",
    "term_end": "2027-06-14",
    "closes_on": "2027-06-14",
    "paid_on": "2022-06-20",
    "payment_ref": "YN-1",
    "days_before": "14",
    "days_left": "3",
}


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_names_the_case_the_next_step_and_a_console_link(kind: Kind) -> None:
    chinese = render(kind, "zh", "case-7", FACTS, "https://console.example.cn")
    english = render(kind, "en", "case-7", FACTS, "https://console.example.cn")
    for text in (chinese, english):
        assert "case-7" in text.body
        assert "https://console.example.cn/" in text.body
        assert "—" not in text.body  # every fact it names was there
    assert chinese.subject.startswith("【海智计划】")
    assert "下一步：" in chinese.body
    assert english.subject.startswith("[HaiZhi] ")
    assert "What to do next: " in english.body


def test_money_is_shown_in_yuan_from_integer_fen() -> None:
    paid = render(Kind.INSTALMENT_PAID, "zh", "c", {**FACTS, "amount_fen": "20000001"}, "http://x")
    assert "200,000.01 元" in paid.body


def _production(**overrides: object) -> NotificationSettings:
    values: dict[str, object] = {
        "environment": "production",
        "jwt_secret": "a-production-secret-of-at-least-32-bytes!",
        "oidc_jwks_url": "https://id.example.cn/jwks",
        "clock": "system",
        "database_url": "postgresql://haizhi@db/haizhi",
        "nats_user": "notification",
        "nats_password": "secret",
        "signing_key": "/keys/notification.key",
        "trusted_keys_dir": "/keys/trusted",
        "smtp_host": "smtp.example.cn",
        "smtp_port": 465,
        "smtp_tls": "tls",
        "mail_from": "海智计划 <noreply@example.cn>",
        "console_public_url": "https://haizhi.example.cn",
        **overrides,
    }
    return NotificationSettings.model_validate(values)


def test_production_mails_over_tls_from_its_own_address() -> None:
    assert _production().smtp_port == 465
    for refused in (
        {"smtp_tls": "none"},
        {"smtp_host": "127.0.0.1", "smtp_port": 1025},
        {"mail_from": NotificationSettings.model_fields["mail_from"].default},
        {"console_public_url": "http://127.0.0.1:8000"},
        {"console_public_url": "http://localhost:8000"},
        {"console_public_url": "http://haizhi.example.cn"},  # production links are https
    ):
        with pytest.raises(ValidationError, match="refused in production"):
            _production(**refused)


def test_development_defaults_point_at_the_local_sink() -> None:
    settings = NotificationSettings(environment="development")
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == (
        "127.0.0.1",
        1025,
        "none",
    )
    assert settings.http_port == 8005
    assert settings.service == "notification"


def test_a_bad_amount_shows_as_a_dash_never_an_error() -> None:
    from ..domain.events import Kind
    from ..domain.templates import render

    for amount in ("", "12.5", "abc", "—"):
        text = render(Kind.INSTALMENT_PAID, "zh", "case-1", {"amount_fen": amount}, "https://c")
        assert "— 元" in text.body
    text = render(Kind.INSTALMENT_PAID, "en", "case-1", {"amount_fen": "-150"}, "https://c")
    assert "CNY -1.50" in text.body


def test_only_a_single_plain_address_is_an_address() -> None:
    from shared.auth import principal_from_claims, single_address

    assert single_address("zhang@x.cn") == "zhang@x.cn"
    for bad in (
        "zhang@x.cn\nBcc: all@x.cn",
        "zhang@x.cn\r\n",
        "a@x.cn, b@x.cn",
        "Zhang <zhang@x.cn>",
        "no-at-sign",
        "x" * 320 + "@x.cn",
        42,
        None,
    ):
        assert single_address(bad) is None
    claims = {"sub": "u", "roles": [], "jurisdictions": [], "email": "a@x.cn\nBcc: b@x.cn"}
    assert principal_from_claims(claims).email is None
