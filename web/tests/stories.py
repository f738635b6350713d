"""The first chapters the console's test modules share, and how a test reads what a page says.

Each module tells its own story on its own system (`conftest.py`); most begin alike: Yunnan's
call of 2022 (`yunnan_call`), the units' applications carried up the chain with the driver to
the province's recommendation (`recommended`), a base designated (`designated`). People sign in
through the development persona picker as themselves (`sign_in`: a person of `haizhi.people`,
or a unit's contact); what a page says is read in Chinese (`zh`) or English (`in_english`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from haizhi.client import Person
from haizhi.flows import HaiZhi
from haizhi.journeys import Case, apply, beijing, designate, recommend, to_candidate
from haizhi.people import CAST, KMUST, Unit
from shared.envelope import new_id
from web.i18n import Translations

from .forms import FormClient, Page

ZH = Translations.load().zh
#: The title of Yunnan's call of 2022, and the leading group's meeting that decided on it.
YUNNAN_2022 = "2022年度中国科协海智计划工作基地申报"
MEETING = "海智计划领导小组2022年第2次会议"
#: When the bases of most stories are designated.
DESIGNATION_DAY = beijing(2022, 7, 1)


def zh(message: str, **values: Any) -> str:
    """`message` (an English msgid) as the console says it in Chinese, checked to have its
    Chinese, `%(name)s` filled in with `values`."""
    said = ZH.gettext(message)
    assert said != message, f"no Chinese for {message!r}"
    return said % values if values else said


# --- the first chapters -----------------------------------------------------------------------


def yunnan_call(
    hz: HaiZhi, *, title: str = YUNNAN_2022, details: Mapping[str, Any] | None = None
) -> str:
    """Yunnan's call of 2022 (its deadline 30 April), opened by the provincial CAST."""
    return hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=2022,
        title=title,
        deadline_on=date(2022, 4, 30),
        details=details,
    )


def recommended(hz: HaiZhi, *units: Unit) -> list[Case]:
    """The units' applications under Yunnan's call (opened on 1 March 2022), candidates on
    10 March, on the province's recommended list on 30 March."""
    hz.clock.to(beijing(2022, 3, 1))
    call_id = yunnan_call(hz)
    cases = [apply(hz, unit, call_id) for unit in units]
    hz.clock.to(beijing(2022, 3, 10))
    for case in cases:
        to_candidate(hz, case)
    hz.clock.to(beijing(2022, 3, 30))
    recommend(hz, call_id, cases)
    return cases


def designated(
    hz: HaiZhi, *units: Unit, on: datetime = DESIGNATION_DAY, first_approval: int = 71
) -> list[Case]:
    """The units' applications recommended, then designated bases on `on` (approvals numbered
    from `first_approval`): each with its certificate and its subsidy plan."""
    cases = recommended(hz, *(units or (KMUST,)))
    hz.clock.to(on)
    for number, case in enumerate(cases, start=first_approval):
        designate(hz, case, meeting_ref=MEETING, approval_no=f"科协办函〔2022〕{number}号")
    return cases


def renewal_to_assess(hz: HaiZhi, case: Case, statement: str) -> str:
    """The base's renewal (Art. 14), asked for in the last 90 days of its term (15 February
    2027, for a base designated in 2022), passed on by the province; the national department
    has asked for its renewal assessment, which the assessment service has opened."""
    unit = case.unit.contact
    hz.clock.to(beijing(2027, 2, 15))
    hz.application.wait_base(unit, case.base_id, lambda b: b["window_announced"], "window")
    renewal_id = hz.application.request_renewal(unit, case.base_id, statement)
    hz.review.wait_renewal(
        CAST.province_intake, renewal_id, lambda r: r["level"] == "province", "at the province"
    )
    hz.review.forward_renewal(CAST.province_intake, renewal_id, "同意续期，转报中国科协。")
    hz.review.request_renewal_assessment(CAST.national, renewal_id)
    hz.assessment.wait_renewal_assessment(
        CAST.national, case.base_id, renewal_id, lambda r: True, "opened"
    )
    return renewal_id


# --- people at the console --------------------------------------------------------------------


def sign_in(browser: FormClient, someone: Person | Unit, language: str = "zh") -> Page:
    """`someone` (a unit: its contact) signed in through the persona picker; in English too."""
    person = someone.contact if isinstance(someone, Unit) else someone
    page = browser.sign_in(
        person.user_id,
        person.name,
        person.roles[0].value,
        person.jurisdictions[0],
        person.org or "",
    )
    assert page.status == 200, page.text
    return in_english(browser, page) if language == "en" else page


def in_english(browser: FormClient, page: Page) -> Page:
    """`page` again in English, by the header's switch."""
    return browser.submit(page, "/language", button="en")


def flash_of(page: Page) -> str:
    """The message the page opens with (what an act did, or why it was refused)."""
    start = page.html.find('class="flash')
    assert start >= 0, f"no message on {page.url}: {page.text}"
    return page.html[start : page.html.find("</div>", start)]


def hand_made(page: Page, back: str, **extra: str) -> dict[str, str]:
    """A form's fields as a POST made by hand carries them: the browser's own CSRF token (from
    `page`), a fresh idempotency key, where to come back to, and `extra`."""
    return {**page.form("/language").fields, "idempotency_key": new_id(), "back": back, **extra}
