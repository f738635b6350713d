"""Every actor's main journey in a real Chromium, from an empty system to a designated base
with a paid instalment, two graded years and the revocation they lead to, once in each
language.

Each story has its own unit: in Chinese 昆明理工大学 (a provincial university: direct to the
province), in English 曲靖经济技术开发区管理委员会 (a park: through the Qujing CAST). Every act
is done by the person whose act it is, signed in through the persona picker in a browser
context of their own, by the links and forms the pages render; in the English story each
person switches the language once, with the header's button, right after signing in. Nothing
acts through the services' APIs: the test only moves the shared clock (once the services have
settled, as the clock's rules ask) and waits for what crosses the bus by reloading a page until
it shows. Every page reached is photographed (`build/screenshots/journey-<language>/`) and
checked with axe-core, each kind of page once (and again where it shows other forms as the
case moves on); any error the browser reports fails the story.

The two stories share the module's system and its clock, which only moves forward: a story
plays the first year whose spring the clock has not passed, so the English story plays its
years (2024–2026) after the Chinese one's (2022–2024).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    FilePayload,
    Locator,
    Page,
    expect,
)

from haizhi.client import Person
from haizhi.flows import HaiZhi
from haizhi.journeys import UNQUALIFIED, annual_report, beijing
from haizhi.people import CAST, KMUST, LEADING_GROUP_MEMBERS, QUJING_EDZ, Unit, verifier
from shared.system import SERVICES, System
from web.i18n import Translations

from .harness import Screens

pytestmark = pytest.mark.browser

ZH = Translations.load().zh
#: How long what another service does (over the bus) may take to show on a page.
CROSSING_SECONDS = 30.0
#: How long a page may take to answer an act: the command, then the page it leads to.
ANSWER_MS = 15_000


@dataclass(frozen=True)
class Story:
    language: str
    unit: Unit


STORIES = [Story("zh", KMUST), Story("en", QUJING_EDZ)]


@pytest.fixture(scope="module", autouse=True)
def patient_expectations() -> Iterator[None]:
    """Expectations wait 10 s instead of 5: a loaded two-core runner, rendering a page for
    four services at once, now and then takes longer than the default."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def driver(system: System) -> Iterator[HaiZhi]:
    """The shared clock (the only thing the test moves itself), frozen at the start of 2022."""
    connected = HaiZhi.connect(system.urls, system.operator_url)
    connected.clock.freeze(beijing(2022, 1, 1, 9))
    yield connected
    connected.close()


@pytest.mark.parametrize("story", STORIES, ids=lambda story: story.language)
def test_a_base_is_designated_paid_graded_and_revoked(
    chromium: Browser, system: System, driver: HaiZhi, screenshots: Path, story: Story
) -> None:
    assert system.console_url is not None
    folder = screenshots / f"journey-{story.language}"
    shutil.rmtree(folder, ignore_errors=True)  # this run's pages only
    screens = Screens(folder)
    journey = Journey(chromium, system.console_url, story, screens, driver)
    try:
        play(journey, year_of_story(driver))
    finally:
        journey.close()
    assert not journey.errors, f"the browser reported errors: {journey.errors}"
    assert not screens.violations, screens.violations


def year_of_story(driver: HaiZhi) -> int:
    """The first year whose spring (1 March, when the call opens) the clock has not passed."""
    now = driver.clock.now()
    return now.year if now < beijing(now.year, 3, 1, 9) else now.year + 1


@dataclass
class Journey:
    """One story: its people, each in a browser context of their own, and its screens."""

    chromium: Browser
    console_url: str
    story: Story
    screens: Screens
    driver: HaiZhi
    pages: dict[str, Page] = field(default_factory=dict)
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def unit(self) -> Unit:
        return self.story.unit

    # --- words, in the story's language ---------------------------------------------------

    def t(self, message: str, **values: Any) -> str:
        """`message` (an English msgid) as the console says it in this story's language."""
        text = ZH.gettext(message) if self.story.language == "zh" else message
        return text % values if values else text

    def said(self, message: str, **values: Any) -> str:
        """As `t`, for what the story asserts: a message the languages say differently, so
        that a page in the wrong language fails."""
        assert ZH.gettext(message) != message, f"no Chinese for {message!r}"
        return self.t(message, **values)

    # --- the people -----------------------------------------------------------------------

    def browser(self) -> Page:
        """A browser of its own (a fresh context), whose every error the story records."""
        context = self.chromium.new_context(base_url=self.console_url, locale="zh-CN")
        self.contexts.append(context)
        page = context.new_page()

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{page.url}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def switch_language(self, page: Page) -> None:
        """The header's language button, once per browser, in the English story."""
        if self.story.language == "en":
            page.get_by_role("button", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")

    def desk(self, person: Person, who: str) -> Page:
        """`person`'s browser: the first time, signed in through the persona picker and (in
        the English story) switched to English."""
        if person.user_id in self.pages:
            return self.pages[person.user_id]
        page = self.browser()
        page.goto("/")
        expect(page.locator("h1")).to_have_text(ZH.gettext("Sign in"))  # 简体中文 by default
        if not self.pages:
            self.see(page, "sign-in")
        page.locator(f'button[data-user="{person.user_id}"]').click()
        welcome = "Welcome, %(name)s"
        expect(page.locator("h1")).to_have_text(ZH.gettext(welcome) % {"name": person.name})
        self.switch_language(page)
        expect(page.locator("h1")).to_have_text(self.said(welcome, name=person.name))
        self.see(page, f"{who}-home")
        self.pages[person.user_id] = page
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    # --- on a page ------------------------------------------------------------------------

    def see(self, page: Page, name: str, state: str = "") -> None:
        self.screens.see(page, name, state=state)

    def go(self, page: Page, label: str) -> None:
        """The header's link `label`."""
        nav = page.get_by_role("navigation", name=self.t("Main"))
        nav.get_by_role("link", name=self.t(label), exact=True).click()

    def link(self, page: Page, name: str) -> Locator:
        return page.get_by_role("link", name=name, exact=True)

    def click(self, page: Page, button: str, **values: Any) -> None:
        page.get_by_role("button", name=self.t(button, **values), exact=True).click()

    def told(self, page: Page, message: str, **values: Any) -> None:
        """The page the act led to says `message` as a success (a refusal would say why)."""
        flash = page.locator("main > .flash").first
        expect(flash).to_contain_text(self.said(message, **values), timeout=ANSWER_MS)
        expect(flash).to_have_class(re.compile(r"\bsuccess\b"))

    def until(self, page: Page, target: Locator, what: str) -> None:
        """Reload `page` until `target` shows (bounded): what another service does, over
        the bus, arrives shortly after the act that caused it."""
        deadline = time.monotonic() + CROSSING_SECONDS
        while True:
            try:
                expect(target).to_be_visible(timeout=500)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{what}: not shown on {page.url} within {CROSSING_SECONDS:.0f} s"
                    ) from None
                page.reload()

    def campaign(self, page: Page, year: int) -> Locator:
        """The assessment page's table of the bases' year `year`."""
        title = self.t("Reporting and assessment of %(year)s", year=year)
        return page.get_by_role("region", name=title)

    # --- the clock ------------------------------------------------------------------------

    def move_clock(self, to: datetime) -> None:
        """The shared clock, forward, once the services have processed everything caused so
        far (so that each reaction carries its cause's time)."""
        self.driver.settle()
        self.driver.clock.to(to)


def play(j: Journey, year: int) -> None:
    """The story of one unit, from the call of `year` to its revocation two years later."""
    spring, may = beijing(year, 3, 1, 9), beijing(year, 5, 10, 9)
    j.move_clock(spring)
    call = open_call(j, year)
    register(j)
    apply(j, call, spring)
    review(j, call, spring)
    j.move_clock(may)
    certificate = designate(j, may)
    public = check_certificate(j, certificate)
    pay_first_instalment(j, may)
    # Two years unqualified in a row (Art. 13); the first orders rectification (Art. 12).
    report(j, year, certificate)
    grade(j, year)
    rectify(j)
    report(j, year + 1)
    grade(j, year + 1)
    revoke(j, year + 2)
    recheck_certificate(j, public, certificate)
    audit(j)


# --- spring: the call, the registration, the application, the reviews ---------------------


def open_call(j: Journey, year: int) -> str:
    """The provincial officer opens the year's call; its title."""
    t, title = j.t, f"{year}年度中国科协海智计划工作基地申报"
    officer = j.desk(CAST.province_intake, "province")
    j.go(officer, "Calls")
    expect(officer.locator("h1")).to_have_text(j.said("Calls for applications"))
    j.see(officer, "province-calls")
    j.link(officer, t("Open a call for applications")).click()
    j.see(officer, "province-call-new")
    officer.get_by_label(t("Year"), exact=True).fill(str(year))
    officer.get_by_label(t("Title of the call")).fill(title)
    officer.get_by_label(t("Deadline (the last day, China Standard Time)")).fill(f"{year}-04-30")
    # Whom to ask and where the paper goes, as Yunnan's notice says (haizhi.journeys).
    officer.get_by_label(t("Contact %(n)s: name", n=1)).fill("毛发强")
    officer.get_by_label(t("Contact %(n)s: telephone", n=1)).fill("0871-63103381")
    officer.get_by_label(t("Contact %(n)s: email", n=1)).fill("ynskxgjb@126.com")
    where = officer.get_by_label(t("Address for the paper copies"))
    where.fill("昆明市护国路26号省科协办公大楼508室")
    officer.get_by_label(t("Postcode")).fill("650021")
    officer.get_by_label(t("Office and recipient")).fill("云南省科协国际部 毛发强")
    j.click(officer, "Open the call")
    j.told(officer, "The call for applications is open: units of the province may apply.")
    expect(officer.locator("h1")).to_have_text(title)
    j.see(officer, "province-call")
    return title


def register(j: Journey) -> None:
    """The unit registers; its CAST (the province's for a provincial unit, else its
    prefecture's) verifies the registration."""
    t, unit = j.t, j.unit
    applicant = j.desk(unit.contact, "unit")
    j.go(applicant, "My unit")
    j.see(applicant, "unit-not-registered")
    j.link(applicant, t("Register the unit")).click()
    j.see(applicant, "unit-register")
    applicant.get_by_label(t("Unit name")).fill(unit.name)
    applicant.get_by_label(t("Unified social credit code")).fill(unit.credit_code)
    applicant.get_by_label(t("Category of unit")).select_option(unit.category)
    applicant.get_by_label(t("Administrative level")).select_option(unit.level)
    expect(applicant.get_by_label(t("Jurisdiction (area code)"))).to_have_value(unit.jurisdiction)
    applicant.get_by_label(t("Unit address")).fill(unit.address)
    applicant.get_by_label(t("Contact %(n)s: name", n=1)).fill(unit.contact.name)
    applicant.get_by_label(t("Contact %(n)s: telephone", n=1)).fill(unit.telephone)
    applicant.get_by_label(t("Contact %(n)s: email", n=1)).fill(unit.email)
    j.click(applicant, "Register the unit")
    j.told(applicant, "Your unit is registered. Its CAST will verify the registration.")
    expect(applicant.locator("main")).to_contain_text(j.said("Awaiting verification"))
    j.see(applicant, "unit-registered", "registered")

    checker = j.desk(verifier(unit), "verifier")
    j.go(checker, "Units to verify")
    j.see(checker, "verifier-units")
    j.link(checker, unit.name).click()
    j.see(checker, "verifier-unit")
    checker.get_by_label(t("Opinion (optional)")).fill("单位名称、统一社会信用代码与营业执照一致。")
    j.click(checker, "Verify")
    j.told(checker, "The registration is verified: the unit may now apply.")


def apply(j: Journey, call: str, spring: datetime) -> None:
    """The unit drafts under the call, fills in Annex 2 (autosave once, then the Save button),
    uploads the materials, reads its checklist and submits."""
    t, unit = j.t, j.unit
    applicant = j.desk(unit.contact, "unit")
    j.go(applicant, "My unit")
    expect(applicant.locator("main")).to_contain_text(j.said("Registration verified"))
    j.go(applicant, "Calls")
    expect(applicant.locator("main")).to_contain_text(call)
    j.see(applicant, "unit-calls")
    j.click(applicant, "Draft an application under this call")
    j.told(applicant, "The application is drafted. Fill in the form and upload the materials.")
    j.see(applicant, "unit-annex2-empty")

    form = {**unit.form(), "opinion_date": spring.date().isoformat()}
    applicant.locator("#f-telephone").fill(str(form.pop("telephone")))
    saved = re.escape(t("Saved at %(time)s")).replace(re.escape("%(time)s"), r"\d{2}:\d{2}")
    expect(applicant.locator("#autosave-status")).to_have_text(re.compile(saved))
    for name, value in form.items():
        control = applicant.locator(f"#f-{name}")
        if value is True:
            control.check()
        else:
            control.fill(str(value))
    j.click(applicant, "Save")
    j.told(applicant, "The form is saved.")
    expect(applicant.locator("main")).to_contain_text("305,000.00")  # 30.5 万元, exactly
    j.see(applicant, "unit-annex2-filled")

    pages = applicant.get_by_role("navigation", name=t("This application"))
    pages.get_by_role("link", name=t("Materials")).click()
    j.see(applicant, "unit-materials-missing")
    missing = applicant.locator("table.checklist tbody tr").filter(
        has=applicant.locator(".missing")
    )
    files = unit.materials()
    for left in range(missing.count() - 1, -1, -1):
        row = missing.first
        slot = row.locator("input[name=slot]").get_attribute("value")
        assert slot in files, slot
        name, content = files[slot]
        pdf = FilePayload(name=name, mimeType="application/pdf", buffer=content)
        row.locator("input[type=file]").set_input_files(files=[pdf])
        row.get_by_role("button", name=t("Upload"), exact=True).click()
        expect(missing).to_have_count(left, timeout=ANSWER_MS)
    j.told(applicant, "The file is uploaded.")
    uploaded = applicant.locator("main > p .present")
    expect(uploaded).to_have_text("✓ " + j.said("Materials: all uploaded"))
    j.see(applicant, "unit-materials-uploaded", "uploaded")

    pages.get_by_role("link", name=t("Status and timeline")).click()
    checks = applicant.locator("ul.checks")
    expect(checks).to_contain_text(j.said("Form: complete"))
    expect(checks).to_contain_text(j.said("Materials: all uploaded"))
    j.see(applicant, "unit-application-checklist")
    j.click(applicant, "Submit the application")
    j.told(applicant, "The application is submitted.")
    expect(applicant.locator("p.lead")).to_contain_text(j.said("Submitted for review"))
    j.see(applicant, "unit-application-submitted", "submitted")


def open_review(j: Journey, page: Page, who: str) -> None:
    """From the reviewer's work queue, once the review service has the case there: the
    conflict-of-interest declaration, then the dossier."""
    unit = j.unit
    j.go(page, "Work queue")
    j.until(page, j.link(page, unit.name), f"{unit.name} in the work queue of {who}")
    j.see(page, f"{who}-queue")
    j.link(page, unit.name).click()
    j.see(page, f"{who}-review-declaration")
    j.click(page, "I have no conflict of interest: open the dossier")
    j.told(page, "You declared no conflict of interest: the dossier is open to you.")
    expect(page.locator("main")).to_contain_text(unit.form()["overview_expected_goals"])
    j.see(page, f"{who}-review-dossier", f"dossier at {who}")


def review(j: Journey, call: str, spring: datetime) -> None:
    """Its prefecture CAST (on that route) forwards; the province records the paper file's
    receipt and accepts it at intake; another provincial officer ranks the call."""
    t, unit = j.t, j.unit
    if unit.route == "via_prefecture":
        prefecture = j.desk(CAST.prefecture(unit.jurisdiction), "prefecture")
        open_review(j, prefecture, "prefecture")
        prefecture.locator("#forward-opinion").fill("材料齐全，同意推荐至省科协。")
        j.click(prefecture, "Forward")
        j.told(prefecture, "The application is forwarded to the provincial CAST.")
        j.see(prefecture, "prefecture-forwarded")

    officer = j.desk(CAST.province_intake, "province")
    open_review(j, officer, "province")
    officer.get_by_label(t("Received on")).fill(spring.date().isoformat())
    expect(officer.get_by_label(t("Recipient"))).to_have_value(CAST.province_intake.name)
    officer.get_by_label(t("Paper copies received")).fill("5")
    j.click(officer, "Record the receipt")
    j.told(officer, "The receipt of the paper file is recorded.")
    officer.locator("#accept-opinion").fill("形式审查通过。")
    j.click(officer, "Accept")
    j.told(officer, "The application passed provincial intake.")
    j.see(officer, "province-accepted")

    ranker = j.desk(CAST.province_ranker, "ranker")
    j.go(ranker, "Rankings")
    j.see(ranker, "ranker-rankings")
    j.link(ranker, call).click()
    rank = ranker.get_by_label(t("Order number of %(unit)s", unit=unit.name))
    j.until(ranker, rank, f"{unit.name} a candidate of the ranking")
    j.see(ranker, "ranker-ranking")
    rank.fill("1")
    ranker.get_by_label(
        t("I declare that I have no conflict of interest with any candidate unit (利益冲突声明).")
    ).check()
    j.click(ranker, "Submit the ranked list (final)")
    j.told(
        ranker,
        "The ranked recommendation list is submitted to the CAST international liaison "
        "department; it is final.",
    )
    j.see(ranker, "ranker-submitted", "submitted")


# --- May: the nation, the leading group, the approval, the certificate, the subsidy --------


def designate(j: Journey, may: datetime) -> str:
    """The national preliminary review, the leading group's decision, the general office's
    approval and plaque; the certificate's number."""
    t, unit, year = j.t, j.unit, may.year
    national = j.desk(CAST.national, "national")
    open_review(j, national, "national")
    national.locator("#forward-opinion").fill("初审通过，提请领导小组审批。")
    j.click(national, "Forward")
    j.told(national, "The application is forwarded to the HaiZhi Plan leading group for approval.")

    group = j.desk(CAST.leading_group, "leading-group")
    j.go(group, "Decisions")
    j.until(group, j.link(group, unit.name), f"{unit.name} before the leading group")
    j.see(group, "leading-group-decisions")
    j.link(group, unit.name).click()
    j.see(group, "leading-group-declaration")
    j.click(group, "Send the declaration")
    j.told(group, "Your declaration of no conflict of interest is recorded.")
    j.see(group, "leading-group-dossier", "dossier")
    group.get_by_label(t("Meeting reference")).fill(f"海智计划领导小组{year}年第2次会议")
    group.get_by_label(t("Meeting date")).fill(may.date().isoformat())
    group.get_by_label(t("Members present (one per line)")).fill("\n".join(LEADING_GROUP_MEMBERS))
    expect(group.get_by_label(t("Approve the designation"))).to_be_checked()
    j.click(group, "Record the decision")
    j.told(
        group,
        "The leading group's approval is recorded. The general office now issues the approval "
        "and the plaque.",
    )

    office = j.desk(CAST.general_office, "general-office")
    j.go(office, "Approvals")
    j.until(office, j.link(office, unit.name), f"{unit.name} awaiting the approval")
    j.see(office, "general-office-approvals")
    j.link(office, unit.name).click()
    j.see(office, "general-office-declaration")
    j.click(office, "Send the declaration")
    j.told(office, "Your declaration of no conflict of interest is recorded.")
    j.see(office, "general-office-approval", "declared")
    office.get_by_label(t("Approval document number")).fill(f"科协办函〔{year}〕15号")
    j.click(office, "Issue the approval")
    j.told(office, "The approval is issued and the plaque awarded: the base is designated.")
    certificate = office.locator("section.result strong").inner_text().strip()
    assert re.fullmatch(rf"HZJD-{year}-\d{{4}}", certificate), certificate
    j.see(office, "general-office-designated", "designated")
    return certificate


def check_certificate(j: Journey, certificate: str) -> Page:
    """Anyone checks the certificate, without signing in: from the footer's link."""
    t = j.t
    public = j.browser()
    public.goto("/")
    j.switch_language(public)
    j.see(public, "public-sign-in", "english" if j.story.language == "en" else "")
    public.get_by_role("link", name=t("Check a certificate")).click()
    expect(public.locator("h1")).to_have_text(j.said("Check a certificate"))
    j.see(public, "public-check")
    public.get_by_label(t("Certificate number")).fill(certificate)
    j.click(public, "Check this number")
    expect(public.locator("p.verdict")).to_have_text("✓ " + j.said("This certificate is valid."))
    expect(public.locator("main")).to_contain_text(j.unit.name)
    j.see(public, "public-certificate-valid")
    return public


def pay_first_instalment(j: Journey, may: datetime) -> None:
    """One finance officer approves the first instalment (due at the approval); another
    confirms its payment."""
    t, unit = j.t, j.unit
    approver = j.desk(CAST.finance_approver, "finance-approver")
    j.go(approver, "Subsidies")
    plan = j.link(approver, unit.name).first
    j.until(approver, plan, f"the subsidy plan of {unit.name}")
    j.see(approver, "finance-plans")
    plan.click()
    number = {"number": 1}
    approve = approver.get_by_role(
        "button", name=t("Approve instalment No. %(number)s", **number), exact=True
    )
    j.until(approver, approve, "instalment 1 due")
    j.see(approver, "finance-plan-due")
    approve.click()
    j.told(
        approver, "The instalment is approved. Another finance officer now confirms its payment."
    )

    payer = j.desk(CAST.finance_payer, "finance-payer")
    j.go(payer, "Subsidies")
    j.link(payer, unit.name).first.click()
    j.see(payer, "finance-plan-approved", "approved")
    payer.get_by_label(t("Payment reference (as on the bank's record)")).fill(
        f"YN-{may:%Y%m%d}-001"
    )
    payer.get_by_label(t("Paid on (Beijing time, YYYY-MM-DD)")).fill(may.date().isoformat())
    payer.get_by_label(t("Amount paid, in yuan (元)")).fill("200,000.00")
    j.click(payer, "Confirm the payment")
    j.told(payer, "The payment is confirmed: the instalment is paid.")
    expect(payer.locator("#instalment-1")).to_contain_text(j.said("Paid"))
    j.see(payer, "finance-plan-paid", "paid")


# --- the years: reports, grades, rectification, revocation --------------------------------


def report(j: Journey, year: int, certificate: str | None = None) -> None:
    """1 December: the unit files the year's report (the first time, it also checks its
    certificate on its base's page); its local CAST forwards it."""
    t, unit = j.t, j.unit
    j.move_clock(beijing(year, 12, 1, 9))
    applicant = j.desk(unit.contact, "unit")
    j.go(applicant, "My base")
    j.until(applicant, j.link(applicant, unit.name), "the unit's base")
    j.see(applicant, f"unit-bases-{year}")
    j.link(applicant, unit.name).click()
    filing = j.link(applicant, t("File the annual report for %(year)s", year=year))
    j.until(applicant, filing, f"reporting for {year} open")
    j.see(applicant, f"unit-base-{year}")
    if certificate:
        expect(applicant.locator("main")).to_contain_text(j.said("Paid"))
        applicant.get_by_label(t("Certificate number")).fill(certificate)
        j.click(applicant, "Check the certificate")
        ours = applicant.locator("dl.certificate + p")
        expect(ours).to_have_text("✓ " + j.said("This is your base's certificate."))
        j.see(applicant, "unit-base-certificate", "certificate")
    filing.click()
    expect(applicant.locator("h1")).to_have_text(j.said("Annual report for %(year)s", year=year))
    filed = annual_report(unit, year)
    for name, text in filed["summary"].items():
        applicant.locator(f"#r-{name}").fill(text)
    applicant.locator("#r-next_year_plan").fill(filed["next_year_plan"])
    for name, value in filed["resource_library"].items():
        applicant.locator(f"#r-{name}").fill(str(value))
    j.see(applicant, f"unit-report-{year}")
    j.click(applicant, "File the annual report")
    j.told(
        applicant,
        "The annual report is filed. Your local CAST forwards it to the national department.",
    )

    via_prefecture = unit.route == "via_prefecture"
    local = CAST.prefecture(unit.jurisdiction) if via_prefecture else CAST.province_intake
    cast = j.desk(local, "local-cast")
    j.go(cast, "Annual reports")
    j.see(cast, f"local-cast-reports-{year}")
    j.campaign(cast, year).get_by_role("link", name=unit.name).click()
    j.see(cast, f"local-cast-year-{year}")
    j.click(cast, "Forward the report to the national department")
    j.told(cast, "The annual report is forwarded to the national department.")


def grade(j: Journey, year: int) -> None:
    """10 January: the department scores the year (unqualified) and proposes the year's
    grade list; the leading group approves it."""
    t, unit = j.t, j.unit
    meeting = beijing(year + 1, 1, 10, 9)
    j.move_clock(meeting)
    national = j.desk(CAST.national, "national")
    j.go(national, "Assessment")
    j.see(national, f"national-assessment-{year}")
    j.campaign(national, year).get_by_role("link", name=unit.name).click()
    for criterion, score in UNQUALIFIED.items():
        national.locator(f"#score-{criterion}").fill(str(score))
    j.see(national, f"national-year-{year}", "scoring")
    j.click(national, "Record the scores")
    j.told(national, "The scores are recorded, and the suggested grade is proposed for the year.")
    expect(national.locator("main")).to_contain_text("✗ " + j.said("Unqualified"))
    j.see(national, f"national-year-{year}-scored", "scored")
    j.go(national, "Grade lists")
    j.see(national, "national-grade-lists")
    j.link(national, str(year)).click()
    j.see(national, f"national-grade-list-{year}")
    j.click(national, "Propose the grade list")
    j.told(national, "The grade list is proposed to the leading group for its approval.")

    group = j.desk(CAST.leading_group, "leading-group")
    j.go(group, "Grade lists")
    j.link(group, str(year)).click()
    expect(group.locator("h1")).to_have_text(j.said("Grade list of %(year)s", year=year))
    group.get_by_label(t("Meeting reference")).fill(f"海智计划领导小组{year + 1}年第1次会议")
    group.get_by_label(t("Meeting date")).fill(meeting.date().isoformat())
    j.see(group, f"leading-group-grade-list-{year}", "approving")
    j.click(group, "Approve the grade list")
    j.told(
        group,
        "The grade list is approved: the grades are final. Unqualified bases are ordered to "
        "rectify.",
    )
    j.see(group, f"leading-group-grades-{year}", "approved")


def rectify(j: Journey) -> None:
    """Ordered to rectify by the unqualified grade, the unit files its rectification report."""
    t, unit = j.t, j.unit
    applicant = j.desk(unit.contact, "unit")
    j.go(applicant, "My base")
    j.link(applicant, unit.name).click()
    summary = applicant.get_by_label(t("Summary of the rectification"))
    j.until(applicant, summary, "the rectification ordered")
    expect(applicant.locator("main")).to_contain_text(j.said("Rectification ordered"))
    j.see(applicant, "unit-base-rectification", "rectification")
    summary.fill("已完善年度引才计划和海智资源库，专人负责落地项目跟踪服务。")
    j.click(applicant, "File the rectification report")
    j.told(applicant, "The rectification report is filed. The national department will review it.")


def revoke(j: Journey, year: int) -> None:
    """Two unqualified years in a row: the leading group confirms the revocation proposed."""
    t = j.t
    group = j.desk(CAST.leading_group, "leading-group")
    j.go(group, "Decisions")
    confirm = j.link(group, t("Read and confirm the revocation"))
    j.until(group, confirm, "the revocation proposed")
    expect(group.locator("main")).to_contain_text(j.said("Revocations proposed for confirmation"))
    j.see(group, "leading-group-revocations", "revocations")
    confirm.click()
    group.get_by_label(t("Meeting reference")).fill(f"海智计划领导小组{year}年第1次会议")
    j.see(group, "leading-group-revocation")
    j.click(group, "Confirm the revocation")
    j.told(
        group,
        "The revocation is confirmed: the base's designation is revoked. Its unpaid subsidy "
        "instalments are cancelled by the funding service shortly.",
    )
    j.see(group, "leading-group-revoked", "revoked")


def recheck_certificate(j: Journey, public: Page, certificate: str) -> None:
    """The certificate, checked again, is no longer valid."""
    t = j.t
    public.get_by_label(t("Certificate number")).fill(certificate)
    j.click(public, "Check this number")
    revoked = j.said("This certificate is no longer valid: %(status)s.", status=t("Revoked (撤销)"))
    j.until(public, public.locator("p.verdict", has_text=revoked), "the certificate revoked")
    j.see(public, "public-certificate-revoked", "revoked")


def audit(j: Journey) -> None:
    """The auditor opens the case's timeline and verifies every service's records."""
    t, unit = j.t, j.unit
    auditor = j.desk(CAST.auditor, "auditor")
    j.go(auditor, "Audit")
    j.see(auditor, "auditor-cases")
    j.link(auditor, unit.name).click()
    revoked = auditor.locator("code", has_text=re.compile(r"^BaseRevoked$")).first
    j.until(auditor, revoked, "the revocation in the case's timeline")
    expect(auditor.locator("main")).to_contain_text(j.said("Signature verified"))
    j.see(auditor, "auditor-timeline")
    j.link(auditor, t("Verify every service's records")).first.click()
    expect(auditor.locator("h1")).to_have_text(j.said("Verification of the records"))
    # every service the system runs, the notifier included
    expect(auditor.locator(".verdict.ok")).to_have_count(len(SERVICES))
    expect(auditor.locator(".verdict.ok").first).to_have_text("✓ " + j.said("Intact"))
    j.see(auditor, "auditor-verify")
