"""The inbox and notification preferences against the running system, the notification service
among it: one application of 昆明理工大学, told in order.

The person signs in and opens the inbox (the notification service knows them from then on);
the unit's application reaches the province's queue, and its reviewer finds the new work in
the inbox, the header counting it, and marks it read; the reviewer returns the application,
and the unit's contact finds that in theirs, in Chinese. Nobody reads or marks another's
notice. Preferences: what each person may turn off, saved and read back, a mandatory kind
refused. A console not given the notification service says so on these pages and keeps no
link to them. The tests run in this order and share the one system of the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from haizhi.client import eventually
from haizhi.flows import HaiZhi
from haizhi.journeys import Case, apply, beijing
from haizhi.people import CAST, KMUST, QUJING_EDZ
from shared.system import System
from shared.testkit.system import whole_system
from web.main import create_app
from web.settings import WebSettings

from .forms import FormClient, Page
from .stories import flash_of, hand_made, in_english, sign_in, yunnan_call, zh

#: The province's intake reviewer: 昆明理工大学 (a provincial university) goes to them directly.
INTAKE = CAST.province_intake
RETURN_REASON = "申报书第三部分缺少合作协议扫描件，请补充后重新提交。"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The whole system as `haizhi up` runs it: the four services, the notification service
    on the same bus as its own NATS user, the development mail sink it sends to, and the
    console given the notification service's address (HAIZHI_WEB_NOTIFICATION_URL)."""
    with whole_system(tmp_path_factory.mktemp("inbox"), console=True) as running:
        yield running


@pytest.fixture(scope="module")
def unit_browser(console_url: str) -> Iterator[FormClient]:
    client = FormClient(console_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def reviewer_browser(console_url: str) -> Iterator[FormClient]:
    client = FormClient(console_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def case(hz: HaiZhi, unit_browser: FormClient, reviewer_browser: FormClient) -> Case:
    """Both people open their (empty) inboxes first, so the notifier knows them; then the
    unit applies under Yunnan's call of 2022, and the application waits at the province."""
    sign_in(unit_browser, KMUST)
    sign_in(reviewer_browser, INTAKE)
    for browser in (unit_browser, reviewer_browser):
        page = browser.get("/inbox")
        assert page.status == 200, page.text
        assert page.says(zh("No notice yet."))
    hz.clock.to(beijing(2022, 3, 1))
    return apply(hz, KMUST, yunnan_call(hz))


def notices(page: Page) -> list[str]:
    """The ids of the notices a page of the inbox lists, in order."""
    return re.findall(r'id="notice-([0-9A-Za-z_-]+)"', page.html)


def inbox_once_it_lists(browser: FormClient, count: int, what: str) -> Page:
    """The inbox, once it lists `count` notices (the notifier consumes events as they come)."""

    def probe() -> Page | None:
        page = browser.get("/inbox")
        return page if len(notices(page)) >= count else None

    return eventually(probe, what, timeout=60)


def unread_badge(page: Page) -> str | None:
    found = re.search(r'<span class="badge">([^<]*)</span>', page.html)
    return found.group(1) if found else None


def test_the_header_links_the_inbox_for_everyone_signed_in(
    case: Case, unit_browser: FormClient, reviewer_browser: FormClient
) -> None:
    for browser in (unit_browser, reviewer_browser):
        home = browser.get("/")
        assert 'href="/inbox"' in home.html
        assert zh("Inbox") in home.text


def test_the_reviewer_finds_the_new_work_in_the_inbox_counted_in_the_header(
    system: System, case: Case, reviewer_browser: FormClient, console_url: str
) -> None:
    page = inbox_once_it_lists(reviewer_browser, 1, "the review queued for the province")
    assert unread_badge(page) == zh("%(count)s unread", count="1")
    assert page.says(zh("Unread"), zh("New work in your review queue"), case.case_id)
    # A persona's development token carries `<account>@haizhi.test`: the notice is mailed to
    # the development sink too, in Chinese, linking to the case's page in this console.
    sink = system.mail_sink
    assert sink is not None
    (mail,) = eventually(
        lambda: sink.to(f"{INTAKE.user_id}@haizhi.test") or None,
        "the notice mailed to the reviewer",
        timeout=60,
    )
    body = mail.get_body(("plain",))
    assert body is not None
    assert f"{console_url}/review/cases/{case.review_id}" in body.get_content()
    assert reviewer_browser.get("/inbox").says(zh("Mailed"))
    (notice,) = notices(page)
    marked = reviewer_browser.submit(page, f"/inbox/{notice}/read")
    assert marked.status == 200
    assert zh("The notice is marked read.") in flash_of(marked)
    assert unread_badge(marked) is None
    assert f'action="/inbox/{notice}/read"' not in marked.html
    assert marked.says(zh("Read %(when)s", when="").strip())
    unread = reviewer_browser.get("/inbox", unread="true")
    assert notices(unread) == []
    assert unread.says(zh("No unread notice."))


def test_the_unit_finds_its_returned_application_in_chinese(
    hz: HaiZhi, case: Case, unit_browser: FormClient
) -> None:
    hz.review.return_for_revision(INTAKE, case.review_id, "province", [RETURN_REASON])
    page = inbox_once_it_lists(unit_browser, 1, "the return told to the unit")
    assert page.says(zh("Application returned for changes"), case.case_id)
    assert RETURN_REASON in page.text
    assert unread_badge(page) == zh("%(count)s unread", count="1")
    home = unit_browser.get("/")  # every page's header: the count the session keeps
    assert unread_badge(home) == zh("%(count)s unread", count="1")
    english = in_english(unit_browser, page)
    assert english.says("Application returned for changes", "1 unread")


def test_nobody_reads_or_marks_anothers_notice(
    case: Case, unit_browser: FormClient, reviewer_browser: FormClient, console_url: str
) -> None:
    theirs = notices(unit_browser.get("/inbox"))
    mine = notices(reviewer_browser.get("/inbox"))
    assert theirs
    assert mine
    assert not set(theirs) & set(mine)
    # The reviewer sends a hand-made form to mark the unit's notice read: the service answers
    # that it is not in their inbox, and the console says so; the notice stays unread.
    page = reviewer_browser.get("/inbox")
    refused = reviewer_browser.http.post(f"/inbox/{theirs[0]}/read", data=hand_made(page, "/inbox"))
    assert zh("This notice is not in your inbox.") in refused.text
    still = unit_browser.get("/inbox", unread="true")
    assert notices(still) == theirs
    # Another unit's contact sees an empty inbox.
    stranger = FormClient(console_url)
    try:
        sign_in(stranger, QUJING_EDZ)
        assert notices(stranger.get("/inbox")) == []
    finally:
        stranger.close()


def test_the_unit_sets_its_preferences_and_reads_them_back(
    case: Case, unit_browser: FormClient
) -> None:
    """In English, the language the unit's contact chose in the header before."""
    page = unit_browser.get("/inbox/preferences")
    assert page.status == 200
    form = page.form("/inbox/preferences")
    assert form.fields.get("email") == "yes"  # the service's defaults: mail on, in Chinese
    assert form.fields.get("language") == "zh"
    assert "digest" not in form.names  # the daily digest is for reviewers
    assert page.says("Turn off: Instalment paid", "Turn off: Designated")
    assert not page.says("Turn off: Application returned for changes")
    assert not page.says("Turn off: New work in your review queue")  # a reviewer's, not theirs
    saved = unit_browser.submit(
        page,
        "/inbox/preferences",
        {"email": "", "language": "en", "muted": ["designated", "instalment_paid"]},
    )
    assert "Your notification preferences are saved." in flash_of(saved)
    again = saved.form("/inbox/preferences")
    assert "email" not in again.fields
    assert again.fields["language"] == "en"
    assert 'value="designated" checked' in saved.html
    assert 'value="instalment_paid" checked' in saved.html
    assert 'value="report_due" checked' not in saved.html


def test_a_mandatory_kind_or_a_language_not_offered_is_refused_and_nothing_changes(
    case: Case, unit_browser: FormClient
) -> None:
    page = unit_browser.get("/inbox/preferences")
    for fields in (
        {"language": "en", "muted": "returned"},
        {"language": "fr"},
    ):
        data = hand_made(page, "/inbox/preferences", **fields)
        refused = unit_browser.http.post("/inbox/preferences", data=data, follow_redirects=True)
        assert refused.status_code in (200, 422), refused.text
        assert 'class="flash error"' in refused.text
    kept = unit_browser.get("/inbox/preferences").form("/inbox/preferences")
    assert kept.fields["language"] == "en"
    assert "email" not in kept.fields


def test_a_reviewer_may_choose_the_daily_digest(case: Case, reviewer_browser: FormClient) -> None:
    page = reviewer_browser.get("/inbox/preferences")
    assert page.form("/inbox/preferences").fields["digest"] == "off"
    assert page.says(zh("Turn off: %(kind)s", kind=zh("New work in your review queue")))
    saved = reviewer_browser.submit(page, "/inbox/preferences", {"digest": "daily"})
    assert zh("Your notification preferences are saved.") in flash_of(saved)
    assert saved.form("/inbox/preferences").fields["digest"] == "daily"


def test_without_a_notification_service_the_console_says_so_and_links_no_inbox(
    system: System,
) -> None:
    """A console given the four services only (as before the notification service)."""
    settings = WebSettings(
        environment="development",
        application_url=system.urls["application"],
        review_url=system.urls["review"],
        assessment_url=system.urls["assessment"],
        funding_url=system.urls["funding"],
    )
    assert not settings.notifications
    with TestClient(create_app(settings), base_url="http://console.test") as http:
        browser = FormClient.__new__(FormClient)
        browser.http = http
        sign_in(browser, KMUST)
        home = browser.get("/")
        assert home.status == 200
        assert 'href="/inbox"' not in home.html
        for path in ("/inbox", "/inbox/preferences"):
            page = browser.get(path)
            assert page.status == 503
            assert page.says(
                zh(
                    "Notifications are not set up on this console: there is no inbox and no "
                    "notification mail here."
                )
            )
