"""The finance pages against the running system: one Yunnan base's subsidy, told in order.

昆明理工大学 is designated on 1 July 2022 (set up with the driver); its first instalment falls due
at the approval. Through the console 杨丽 approves it, is refused its payment (separation of
duties, in both languages), 黄强 types a wrong amount, then pays it; the reconciliation and its
CSV show the payment; the payment comes back and is reported; in January 2023 the base is
graded unqualified, and the instalment, due again, is shown held for the rectification.
The tests run in this order and share the one system of the module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import pytest

from haizhi.client import Person, eventually
from haizhi.flows import HaiZhi, instalment
from haizhi.journeys import (
    UNQUALIFIED,
    Case,
    assess_year,
    beijing,
    rectification_of,
    report_year,
)
from haizhi.people import CAST, KMUST
from shared.auth import Role

from .forms import FormClient, Page
from .stories import ZH, designated, flash_of, hand_made, in_english, sign_in

#: The approver and the payer of Yunnan's instalments (two officers: separation of duties).
YANGLI, HUANGQIANG = CAST.finance_approver, CAST.finance_payer
GUIZHOU_FINANCE = Person("wuxia", "吴霞", (Role.FINANCE,), None, ("52",))


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    """昆明理工大学's application of 2022, designated on 1 July: its first instalment is due."""
    (found,) = designated(hz)
    return found


def plan_of(hz: HaiZhi, case: Case) -> dict[str, Any]:
    found = hz.funding.plan(CAST.auditor, case.base_id)
    assert found is not None
    return found


def first(hz: HaiZhi, case: Case) -> dict[str, Any]:
    return instalment(plan_of(hz, case), 1)


def open_plan(browser: FormClient, case: Case) -> Page:
    """From the start page: the header's "Subsidies", then the base's plan."""
    home = browser.get("/")
    assert home.status == 200
    assert 'href="/finance/plans"' in home.html
    plans = browser.get("/finance/plans")
    assert plans.status == 200
    link = f'href="/finance/plans/{case.base_id}"'  # a plan's id is its base's
    assert link in plans.html, plans.text
    return browser.get(f"/finance/plans/{case.base_id}")


def test_the_plans_list_the_due_instalment_and_the_plan_its_facts(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, YANGLI)
    plans = browser.get("/finance/plans")
    assert plans.says("补助资金计划", "昆明理工大学", "第1期", "200,000.00 元", "已到期，待审核")
    plan = open_plan(browser, case)
    assert plan.status == 200
    assert plan.says("600,000.00 元", "2022-07-01", "53-2022.1", "未到期")
    assert plan.has_form(f"/finance/instalments/{case.base_id}-1/approval")
    assert not plan.has_form(f"/finance/instalments/{case.base_id}-2/approval")  # not yet due


def test_an_officer_approves_the_due_instalment(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, YANGLI)
    plan = open_plan(browser, case)
    done = browser.submit(plan, f"/finance/instalments/{case.base_id}-1/approval")
    assert done.status == 200
    assert done.url.endswith(f"/finance/plans/{case.base_id}")
    assert done.says(
        ZH.gettext("The instalment is approved. Another finance officer now confirms its payment.")
    )
    assert done.says("已审核，待拨付", "审核人：yangli")
    owed = first(hz, case)
    assert (owed["stage"], owed["prepared_by"]) == ("approved", "yangli")


def test_the_approver_is_refused_the_payment_in_both_languages(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, YANGLI)
    plan = open_plan(browser, case)
    action = f"/finance/instalments/{case.base_id}-1/payment"
    # The page says why the approver's button is disabled …
    assert plan.says(ZH.gettext(
        "You approved this instalment, so you may not confirm its payment: another finance "
        "officer must (separation of duties)."
    ))  # fmt: skip
    assert "disabled" in plan.html[plan.html.find(action) :][:3000]
    # … and a payment sent all the same (a page kept open from before) is refused by funding.
    typed = {"payment_ref": "YN-20220701-001", "paid_on": "2022-07-01", "amount_yuan": "200000"}
    refused = browser.submit(plan, action, typed)
    said = flash_of(refused)
    assert "审核同意拨付的人员不能同时确认该笔款项的支付。" in said
    assert ZH.gettext("Ask another finance officer to confirm the payment.") in said
    english = in_english(browser, refused)
    again = browser.submit(english, action, typed)
    said = flash_of(again)
    assert "The officer who approved an instalment cannot also confirm its payment." in said
    assert "Ask another finance officer to confirm the payment." in said
    assert first(hz, case)["stage"] == "approved"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ({"amount_yuan": "200000.01"}, "The amount paid is not the instalment's amount."),
        ({"amount_yuan": "2000000"}, "The amount paid is not the instalment's amount."),
        ({"amount_yuan": "1.234"}, "The amount paid is not an amount in yuan."),
        ({"amount_yuan": "二十万"}, "The amount paid is not an amount in yuan."),
        ({"amount_yuan": "-200000"}, "The amount paid is not an amount in yuan."),
        ({"amount_yuan": "1e5"}, "The amount paid is not an amount in yuan."),
        ({"amount_yuan": "0"}, "The amount paid is not an amount in yuan."),
        ({"paid_on": "2022-02-30"}, "The payment date is not a date."),
        ({"paid_on": "01/07/2022"}, "The payment date is not a date."),
        ({"paid_on": "2030-01-01"}, "The payment date is in the future."),
        (
            {"payment_ref": "  "},
            "Enter the payment reference of the bank transfer (at most 100 characters).",
        ),
        (
            {"payment_ref": "x" * 101},
            "Enter the payment reference of the bank transfer (at most 100 characters).",
        ),
    ],
)
def test_a_payment_typed_wrong_is_refused_and_says_what_to_do(
    browser: FormClient, hz: HaiZhi, case: Case, typed: Mapping[str, str], says: str
) -> None:
    sign_in(browser, HUANGQIANG)
    plan = open_plan(browser, case)
    action = f"/finance/instalments/{case.base_id}-1/payment"
    fields = {"payment_ref": "YN-20220701-001", "paid_on": "2022-07-01", "amount_yuan": "200000"}
    refused = browser.submit(plan, action, {**fields, **typed})
    assert refused.status == 200
    assert refused.url.endswith(f"/finance/plans/{case.base_id}")
    said = flash_of(refused)
    assert ZH.gettext(says) != says, "translated"
    assert ZH.gettext(says) in said
    assert 'class="next"' in said  # and what to do next
    assert first(hz, case)["stage"] == "approved"


def test_another_officer_confirms_the_payment_typed_in_yuan(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, HUANGQIANG)
    plan = open_plan(browser, case)
    assert plan.says("须与该期金额完全一致：200,000.00 元。")
    typed = {"payment_ref": "YN-20220701-001", "paid_on": "2022-07-01", "amount_yuan": "200,000.00"}
    paid = browser.submit(plan, f"/finance/instalments/{case.base_id}-1/payment", typed)
    assert paid.says(ZH.gettext("The payment is confirmed: the instalment is paid."))
    assert paid.says("已拨付", "付款凭证号：YN-20220701-001", "拨付确认人：huangqiang")
    owed = first(hz, case)
    assert owed["stage"] == "paid"
    assert (owed["payment_ref"], owed["paid_on"], owed["confirmed_by"]) == (
        "YN-20220701-001",
        "2022-07-01",
        "huangqiang",
    )


def test_the_reconciliation_shows_the_payment_and_downloads_as_csv(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, YANGLI)
    plans = browser.get("/finance/plans")
    assert 'href="/finance/reconciliation"' in plans.html
    page = browser.get("/finance/reconciliation")
    assert page.status == 200
    assert page.says("补助资金对账", "昆明理工大学", "2022", "600,000.00 元", "平衡")
    assert "不平衡" not in page.text
    assert 'href="/finance/reconciliation.csv"' in page.html
    answer = browser.http.get("/finance/reconciliation.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    mine = [r for r in rows if r["base_id"] == case.base_id]
    assert [(r["scope"], r["year"]) for r in mine] == [
        ("year", "2022"),
        ("year", "2023"),
        ("year", "2024"),
        ("base", ""),
    ]
    first_year, whole = mine[0], mine[-1]
    assert (first_year["paid_count"], first_year["paid_fen"]) == ("1", "20000000")
    assert (whole["planned_count"], whole["planned_fen"]) == ("3", "60000000")
    assert (whole["scheduled_count"], whole["scheduled_fen"]) == ("2", "40000000")
    total = rows[-1]
    assert total["scope"] == "total"
    service = hz.funding.reconciliation(CAST.finance_approver, case.base_id)
    assert int(whole["paid_fen"]) == service["bases"][0]["total"]["paid"]["amount_fen"]
    # One base only, from the plan's link.
    only = browser.get(f"/finance/reconciliation?base_id={case.base_id}")
    assert only.status == 200
    assert only.says("仅显示基地：昆明理工大学。")
    one = browser.http.get(f"/finance/reconciliation.csv?base_id={case.base_id}")
    assert one.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(one.text)))) == 5


def test_a_returned_payment_is_reported_and_the_instalment_is_due_again(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, HUANGQIANG)
    plan = open_plan(browser, case)
    action = f"/finance/instalments/{case.base_id}-1/return"
    missing = browser.submit(plan, action, {"reason": " "})
    assert ZH.gettext("Give the returned payment's reference and why it came back.") in flash_of(
        missing
    )
    wrong = browser.submit(missing, action, {"payment_ref": "YN-0000", "reason": "账户已注销"})
    assert ZH.gettext("The instalment was paid under a different payment reference.") in (
        flash_of(wrong)
    )
    back = browser.submit(wrong, action, {"reason": "收款账户已注销，款项退回"})
    assert back.says(
        ZH.gettext(
            "The returned payment is recorded: the instalment is due again and can be approved "
            "anew."
        )
    )
    assert back.says("退回次数：1", "已到期，待审核")
    owed = first(hz, case)
    assert (owed["stage"], owed["returned"]) == ("due", 1)


def test_an_instalment_held_for_rectification_is_shown_with_why(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    hz.clock.to(beijing(2022, 12, 5))
    report_year(hz, case, 2022)
    hz.clock.to(beijing(2023, 1, 15))
    assess_year(
        hz, 2022, {case.base_id: UNQUALIFIED}, meeting_ref="海智计划领导小组2023年第1次会议"
    )
    order = rectification_of(hz, case, 2022)
    eventually(
        lambda: first(hz, case) if first(hz, case)["stage"] == "held" else None,
        "instalment 1 held",
    )
    sign_in(browser, YANGLI)
    plan = open_plan(browser, case)
    assert plan.says("该基地正在整改：尚有1项整改要求未结束。", "暂缓拨付（整改中）")
    assert plan.says(f"因整改要求 {order} 暂缓拨付")
    assert not plan.has_form(f"/finance/instalments/{case.base_id}-1/approval")
    assert plan.says(
        ZH.gettext(
            "It cannot be approved while the base carries out rectification (order %(order)s); "
            "it is released when the rectification is accepted."
        )
        % {"order": order}
    )
    listed = browser.get("/finance/plans")
    assert listed.says("暂缓拨付：1项整改要求未结束")


def test_finance_of_another_province_reads_but_is_refused_the_acts(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, GUIZHOU_FINANCE)
    plan = open_plan(browser, case)
    assert plan.says("该基地所在省份（53）不在您的辖区内")
    assert not plan.has_form(f"/finance/instalments/{case.base_id}-3/approval")
    # A form posted all the same (made by hand, with this browser's own CSRF token).
    fields = hand_made(plan, plan.url)
    refused = browser.http.post(f"/finance/instalments/{case.base_id}-1/approval", data=fields)
    assert refused.status_code == 200
    assert ZH.gettext("This lies outside the area you are responsible for.") in refused.text
    assert first(hz, case)["stage"] == "held"


def test_people_of_other_roles_are_refused_the_finance_pages(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, KMUST)
    for path in ("/finance/plans", f"/finance/plans/{case.base_id}", "/finance/reconciliation"):
        page = browser.get(path)
        assert page.status == 403, path
        assert page.says(ZH.gettext("You do not have permission to do this."))
    assert browser.http.get("/finance/reconciliation.csv").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/finance/plans/no-such-plan",
        "/finance/plans/%2e%2e%2ffeed",
        "/finance/plans/" + "x" * 500,
        "/finance/plans?cursor=not-a-cursor",
        "/finance/reconciliation?base_id=" + "y" * 200,
        "/finance/reconciliation?cursor=%00",
        "/finance/reconciliation.csv?base_id=" + "z" * 200,
    ],
)
def test_no_finance_page_fails_on_what_a_client_sends(
    browser: FormClient, case: Case, path: str
) -> None:
    sign_in(browser, YANGLI)
    page = browser.get(path)
    assert 400 <= page.status < 500, (path, page.status)


def test_commands_on_unknown_instalments_are_told_not_crashed(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, HUANGQIANG)
    plan = open_plan(browser, case)
    fields = hand_made(plan, plan.url)
    for act, extra in (
        ("approval", {}),
        ("payment", {"payment_ref": "R-1", "paid_on": "2022-07-01", "amount_yuan": "1"}),
        ("return", {"payment_ref": "R-1", "reason": "退回"}),
    ):
        answer = browser.http.post(
            f"/finance/instalments/no-such-instalment/{act}", data={**fields, **extra}
        )
        assert answer.status_code == 200, act  # told on the page it came from
        assert "flash error" in answer.text, act
