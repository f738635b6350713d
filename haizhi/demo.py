"""`haizhi demo`: a Yunnan call for applications played through the running services.

Only over their HTTP APIs, as the people who act: three units apply, the prefecture and
provincial CASTs review, return and rank, the national department and the leading group
decide, the general office awards the plaques, the bases report and are graded, one must
rectify while its subsidy is held, and finance pays. The shared development clock moves
forward from wherever it stands; at the end each case's timeline is printed from the
`HAIZHI` stream (`/audit/cases/{id}/timeline`).
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from typing import Any

from shared.nats_auth import OPERATOR

from .client import CallFailed, NotReached
from .flows import HaiZhi, instalment, stages
from .journeys import (
    BEIJING,
    EXCELLENT,
    UNQUALIFIED,
    YUNNAN_CALL,
    Case,
    apply,
    assess_year,
    beijing,
    designate,
    pay_instalment,
    prefecture_forward,
    province_accept,
    rectification_of,
    register,
    report_year,
)
from .people import CAST, KMUST, KUNMING_HTZ, QUJING_EDZ, verifier
from .running import Running
from .settle import NotSettled

NAMES = {p.user_id: p.name for p in CAST.everyone()} | {
    u.contact.user_id: u.contact.name for u in (KMUST, QUJING_EDZ, KUNMING_HTZ)
}


OFFICES = {"cast-yn": "云南省科协", "cast-km": "昆明市科协", "cast-qj": "曲靖市科协"}


def add_command(commands: Any) -> None:
    commands.add_parser("demo", help="play realistic cases through the running services")


def run(args: argparse.Namespace, running: Running) -> int:
    hz = HaiZhi.connect(running.services, running.nats_as(OPERATOR))
    began = hz.clock.now()
    try:
        cases = play(hz)
        for case in cases:
            print_timeline(hz, case)
    except (CallFailed, NotReached, NotSettled) as failed:
        print(f"the demo stopped: {failed}")
        if isinstance(failed, CallFailed) and failed.status == 409:
            print("(a second demo on the same data finds its units already applying or holding "
                  "bases, which the rules refuse: play it on a new --data-dir)")  # fmt: skip
        print(moved_clock(began, hz.clock.now()))
        return 1
    finally:
        hz.close()
    print(f"\n{len(cases)} cases played; `haizhi audit verify` checks the record")
    print(moved_clock(began, hz.clock.now()))
    return 0


def moved_clock(began: datetime, now: datetime) -> str:
    """What the demo did to the shared clock, and how to go on from there."""
    if now <= began:
        return "The shared clock was not moved."
    since, until = began.astimezone(BEIJING), now.astimezone(BEIJING)
    return (
        f"\nThe demo moved the shared development clock forward by {(now - began).days} days,\n"
        f"from {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} CST: every service of this "
        "system lives at that time now,\nand it never runs back. `haizhi clock` shows it; "
        "`haizhi clock release` lets a frozen clock run on at real speed.\n"
        "A system on today's date is a fresh one: stop `haizhi up`, start it with another "
        "--data-dir."
    )


class Calendar:
    """Days counted from the demo's first day, each act at 10:00 Beijing time, moving the
    shared clock forward to it (never back: an act already past happens now)."""

    def __init__(self, hz: HaiZhi) -> None:
        self.hz = hz
        self.first = hz.clock.now().astimezone(BEIJING).date() + timedelta(days=1)

    def on(self, when: date) -> date:
        at = beijing(when.year, when.month, when.day)
        if at > self.hz.clock.now():
            self.hz.settle()  # reactions to the last act carry its time, not the next one's
            self.hz.clock.to(at)
        return self.hz.clock.now().astimezone(BEIJING).date()

    def day(self, n: int) -> date:
        return self.on(self.first + timedelta(days=n))


def say(when: date, text: str) -> None:
    print(f"{when:%Y-%m-%d}  {text}", flush=True)


def play(hz: HaiZhi) -> list[Case]:
    cal = Calendar(hz)
    kmust, qujing, kunming = up_the_chain(hz, cal)
    designated_on = designation(hz, cal, kmust, qujing)
    first_year(hz, cal, designated_on, kmust, qujing)
    return [kmust, qujing, kunming]


def up_the_chain(hz: HaiZhi, cal: Calendar) -> tuple[Case, Case, Case]:
    """The call, three applications, a return and a resubmission, intake and the ranking."""
    officer = CAST.province_intake
    year = cal.first.year
    when = cal.day(0)
    call_id = hz.application.open_call(
        officer,
        province="53",
        year=year,
        title=f"{year}年度中国科协海智计划工作基地申报",
        deadline_on=cal.first + timedelta(days=60),
        details=YUNNAN_CALL,
    )
    say(when, f"云南省科协国际部（{officer.name}）发布{year}年度海智计划工作基地申报通知")

    when = cal.day(1)
    for unit in (KMUST, QUJING_EDZ, KUNMING_HTZ):
        register(hz, unit)
        cast = verifier(unit)
        office = OFFICES.get(cast.org or "", cast.org)
        say(when, f"{unit.name}登记单位信息（统一社会信用代码 {unit.credit_code}），"
                  f"{office}（{cast.name}）核验通过")  # fmt: skip

    when = cal.day(2)
    kmust, qujing, kunming = (apply(hz, unit, call_id) for unit in (KMUST, QUJING_EDZ, KUNMING_HTZ))
    for case in (kmust, qujing, kunming):
        route = "直接报送省科协" if case.route == "direct" else "经州（市）科协报送"
        say(when, f"{case.unit.name}（{case.unit.contact.name}）提交申报，{route}")

    when = cal.day(10)
    prefecture_forward(hz, qujing)
    say(when, f"曲靖市科协（{CAST.qujing.name}）审核通过，报送省科协")
    reasons = ["缺少地方政府支持政策文件的正式印发稿"]
    hz.review.return_for_revision(CAST.kunming, kunming.review_id, "prefecture", reasons)
    say(when, f"昆明市科协（{CAST.kunming.name}）退回昆明高新区修改：{reasons[0]}")

    applicant = KUNMING_HTZ.contact
    hz.application.wait_application(
        applicant, kunming.application_id, lambda a: a["status"] == "returned", "returned"
    )

    when = cal.day(15)
    hz.application.fill_form(
        applicant,
        kunming.application_id,
        {"overview_description": "补充：高新区已印发海外人才引进专项政策。"},
    )
    hz.application.submit(applicant, kunming.application_id)
    say(when, "昆明高新区补充材料后重新提交")

    when = cal.day(18)
    prefecture_forward(hz, kunming)
    say(when, f"昆明市科协（{CAST.kunming.name}）复核通过，报送省科协")

    when = cal.day(20)
    for case in (kmust, qujing, kunming):
        province_accept(hz, case)
    say(when, f"省科协（{officer.name}）完成形式审查，三家进入择优推荐")

    when = cal.day(30)
    hz.review.rank(
        CAST.province_ranker,
        call_id,
        [kmust.application_id, qujing.application_id],
        {kunming.application_id: ["海外合作渠道尚需拓展，本年度暂不推荐"]},
    )
    say(when, f"省科协（{CAST.province_ranker.name}）择优推荐昆明理工大学、曲靖经开区")
    return kmust, qujing, kunming


def designation(hz: HaiZhi, cal: Calendar, kmust: Case, qujing: Case) -> date:
    """National review, the leading group, the plaques, the first instalments."""
    when = cal.day(75)
    for n, case in enumerate((kmust, qujing), start=1):
        designate(
            hz,
            case,
            meeting_ref=f"海智计划领导小组{when.year}年第1次会议",
            approval_no=f"科协办函〔{when.year}〕{14 + n}号",
        )
        say(when, f"中国科协办公厅批复并授牌：{case.unit.name}，证书 {case.certificate_no}")
    for case in (kmust, qujing):
        pay_instalment(hz, case, 1)
    finance = f"{CAST.finance_approver.name}审核、{CAST.finance_payer.name}支付"
    say(when, f"省科协财务（{finance}）拨付首期补助各20万元")

    return when


def first_year(hz: HaiZhi, cal: Calendar, designated_on: date, kmust: Case, qujing: Case) -> None:
    """Reports and grades; one base rectifies while its second instalment is held."""
    graded = designated_on.year
    when = cal.on(max(date(graded, 12, 5), designated_on))
    for case in (kmust, qujing):
        report_year(hz, case, graded)
    say(when, f"两家基地报送{graded}年度工作总结和下年度计划，经当地科协转报")

    when = cal.on(date(graded + 1, 1, 15))
    grades = assess_year(
        hz,
        graded,
        {kmust.base_id: EXCELLENT, qujing.base_id: UNQUALIFIED},
        meeting_ref=f"海智计划领导小组{graded + 1}年第1次会议",
    )
    say(
        when,
        f"领导小组审定{graded}年度考核等次：昆明理工大学{_grade(grades[kmust.base_id])}，"
        f"曲靖经开区{_grade(grades[qujing.base_id])}（限期整改）",
    )
    rectification = rectification_of(hz, qujing, graded)

    anniversary = designated_on.replace(year=designated_on.year + 1)
    when = cal.on(max(anniversary + timedelta(days=1), when + timedelta(days=1)))
    pay_instalment(hz, kmust, 2)
    held = hz.funding.wait_plan(
        CAST.finance_approver,
        qujing.base_id,
        lambda p: instalment(p, 2)["stage"] == "held",
        "instalment 2 held",
    )
    now = "、".join(stages(held))
    say(when, f"第二期补助：昆明理工大学已拨付；曲靖经开区整改期间暂缓（{now}）")

    when = cal.on(when + timedelta(days=10))
    hz.assessment.file_rectification(
        QUJING_EDZ.contact,
        qujing.base_id,
        rectification,
        "已健全海智资源库并完成落地项目跟踪服务。",
    )
    say(when, "曲靖经开区报送整改报告")
    when = cal.on(when + timedelta(days=10))
    hz.assessment.accept_rectification(CAST.national, qujing.base_id, rectification)
    pay_instalment(hz, qujing, 2)
    say(when, "中国科协国际联络部验收整改；暂缓的第二期补助解除并拨付")


def _grade(grade: str) -> str:
    return {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}.get(grade, grade)


def print_timeline(hz: HaiZhi, case: Case) -> None:
    events = hz.audit.timeline(CAST.auditor, case.case_id)
    print(f"\n=== {case.unit.name} · case {case.case_id} · {len(events)} events ===")
    for event in events:
        at = datetime.fromisoformat(event["time"]).astimezone(BEIJING)
        actor = event["actor"]
        who = NAMES.get(actor, actor)
        print(f"{at:%Y-%m-%d %H:%M}  {event['service']:<11} {event['event']:<30} {who}")
