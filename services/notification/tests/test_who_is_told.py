"""Who is told what, over the bus: each kind of the issue's list reaches its audience, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from shared.envelope import Envelope
from shared.mailsink import SmtpSink
from shared.testkit.service import RunningService, eventually

from .conftest import (
    MORNING,
    UNIT,
    UNIT_NAME,
    Upstream,
    deliveries_of,
    inbox_when,
    known,
    person,
)

ZHANG = "zhang@km-hitech.example.cn"
CONTACT = "office@km-hitech.example.cn"


async def test_applicants_are_told_of_every_kind_by_mail_and_in_the_inbox(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email=ZHANG)
    await known(service, applicant)
    await upstream.register_unit(CONTACT, ZHANG)
    await upstream.review_opened("case-1")
    await upstream.review(
        "case-1",
        "ApplicationReturned",
        application_id="app-1",
        level="prefecture",
        reasons=["材料不全"],
        by="r",
        at="2022-04-01T02:00:00Z",
    )
    await upstream.review(
        "case-1",
        "ApplicationRejected",
        application_id="app-1",
        level="province",
        reasons=["不符合条件"],
        by="r",
        at="2022-04-01T02:00:00Z",
    )
    await upstream.assess("case-1", "ReportingOpened", year=2023, due_on="2024-01-31")
    await upstream.assess("case-1", "AnnualReportOverdue", year=2023, due_on="2024-01-31")
    await upstream.assess(
        "case-1", "RectificationOrdered", rectification_id="r1", year=2023, deadline="2024-06-30"
    )
    await upstream.assess(
        "case-1",
        "RenewalWindowOpened",
        opens_on="2027-03-16",
        closes_on="2027-06-14",
        term_end="2027-06-14",
    )
    await upstream.fund("case-1", "InstalmentPaid", payment_ref="YN-1", paid_on="2022-06-20")

    items = await inbox_when(service, applicant, 7)
    assert sorted(i["kind"] for i in items) == sorted(
        [
            "returned",
            "rejected",
            "report_due",
            "report_overdue",
            "rectification_ordered",
            "renewal_window_open",
            "instalment_paid",
        ]
    )
    # The person by their account (once, though also a listed contact), the other contact by mail.
    await sink.wait_for(14)
    assert len(sink.to(ZHANG)) == 7
    assert len(sink.to(CONTACT)) == 7
    assert sum(sink.message_ids.values()) == len(sink.message_ids) == 14
    rectification = next(m for m in sink.to(CONTACT) if "整改" in str(m["Subject"]))
    body = rectification.get_content()
    assert "case-1" in body
    assert "2024-06-30" in body
    assert "http://127.0.0.1:8000/unit/bases/" in body


async def test_reviewers_of_the_level_and_jurisdiction_hear_of_new_work(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    kunming = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",), email="li@x.cn")
    dali = person(service, "wang", "prefecture_reviewer", jurisdictions=("5329",), email="w@x.cn")
    province = person(service, "zhao", "province_reviewer", jurisdictions=("53",), email="z@x.cn")
    for headers in (kunming, dali, province):
        await known(service, headers)
    opened = await upstream.review_opened("case-2", level="prefecture")

    items = await inbox_when(service, kunming, 1)
    assert items[0]["kind"] == "review_queued"
    assert items[0]["case_id"] == "case-2"
    rows = await deliveries_of(service, opened.id)
    assert [r["user_id"] for r in rows] == ["li"]
    await sink.wait_for(1)
    assert [str(m["To"]) for m in sink.messages] == ["li@x.cn"]


async def test_reviewers_hear_of_a_resubmission_and_of_a_renewal_request_in_their_queue(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """A resubmission reopens the review at its level; a renewal request waits at the province
    (Art. 14): both are new work in a queue, told as `ReviewOpened` is."""
    kunming = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",), email="li@x.cn")
    dali = person(service, "wang", "prefecture_reviewer", jurisdictions=("5329",), email="w@x.cn")
    yunnan = person(service, "zhao", "province_reviewer", jurisdictions=("53",), email="z@x.cn")
    guizhou = person(service, "qian", "province_reviewer", jurisdictions=("52",), email="q@x.cn")
    for headers in (kunming, dali, yunnan, guizhou):
        await known(service, headers)
    english = {"email_enabled": True, "language": "en", "opt_out": [], "digest": "off"}
    assert (await service.client.put("/preferences", json=english, headers=yunnan)).is_success
    await upstream.review_opened("case-5", level="prefecture")
    reopened = await resubmitted(upstream, "case-5")
    renewal = await upstream.send(
        "review",
        "RenewalReviewOpened",
        {
            "renewal_id": "renewal-6",
            "case_id": "case-6",
            "base_id": "base-case-6",
            "unit_id": UNIT,
            "unit_name": UNIT_NAME,
            "province": "53",
            "jurisdiction": "5301",
            "term_end": "2027-06-14",
            "at": "2022-04-01T02:00:00Z",
            "statement": "申请续期",
        },
        "renewal-renewal-6",
    )

    items = await inbox_when(service, kunming, 2)
    assert sorted(i["kind"] for i in items) == ["review_queued", "review_reopened"]
    (again,) = [i for i in items if i["kind"] == "review_reopened"]
    assert again["case_id"] == "case-5"
    assert again["link"] == "/review/cases/review-case-5"
    assert again["subject"] == f"【海智计划】重新提交待审：{UNIT_NAME}"
    assert "第 2 版" in again["body"]
    assert "地市审核队列" in again["body"]
    (queued,) = await inbox_when(service, yunnan, 1)
    assert queued["kind"] == "renewal_review_queued"
    assert queued["case_id"] == "case-6"
    assert queued["link"] == "/review/renewals/renewal-6"
    assert queued["subject"] == f"[HaiZhi] New renewal request in your review queue: {UNIT_NAME}"
    assert "term ends 2027-06-14" in queued["body"]
    assert [r["user_id"] for r in await deliveries_of(service, reopened.id)] == ["li"]
    assert [r["user_id"] for r in await deliveries_of(service, renewal.id)] == ["zhao"]
    await sink.wait_for(3)
    assert sorted(str(m["To"]) for m in sink.messages) == ["li@x.cn", "li@x.cn", "z@x.cn"]
    (mail,) = sink.to("z@x.cn")
    assert "http://127.0.0.1:8000/review/renewals/renewal-6" in mail.get_content()


async def test_a_reviewer_on_the_digest_gets_a_resubmission_in_it(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    reviewer = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",), email="l@x.cn")
    daily = {"email_enabled": True, "language": "zh", "opt_out": [], "digest": "daily"}
    assert (await service.client.put("/preferences", json=daily, headers=reviewer)).is_success
    await upstream.review_opened("case-7")
    await resubmitted(upstream, "case-7")
    items = await inbox_when(service, reviewer, 2)
    assert {i["kind"]: i["mail"] for i in items} == {
        "review_queued": "digest",
        "review_reopened": "digest",
    }
    assert sink.messages == []


AT = "2022-04-01T02:00:00Z"


@dataclass(frozen=True)
class MovedUp:
    """An event that moves a case up the review chain, and whose queue it is then in."""

    event: str
    data: dict[str, Any]
    role: str  # the reviewing role of the level that now holds the case
    covering: str  # a jurisdiction of that role that covers the unit's (5301)
    previous: str  # the role that had it before (or another level's)
    kind: str
    level: str  # as the Chinese text names the level
    renewal: bool = False


async def resubmitted(upstream: Upstream, case_id: str) -> Envelope:
    """The applicant's second revision reopens the review at the prefecture."""
    return await upstream.review(
        case_id,
        "ReviewReopened",
        application_id=f"application-{case_id}",
        revision=2,
        unit_name=UNIT_NAME,
        form_hash="1" * 64,
        files=[],
        level="prefecture",
        at=AT,
    )


def decided(outcome: str, *reasons: str) -> dict[str, Any]:
    """A `LeadingGroupDecided`'s data but its ids: the meeting, the outcome and its reasons."""
    return {
        "meeting_ref": "海智领导小组2022年第3次会议",
        "meeting_date": "2022-03-30",
        "members_present": ["chen", "sun"],
        "outcome": outcome,
        "form_hash": "0" * 64,
        "file_hashes": [],
        "reasons": list(reasons),
        "by": "chen",
        "at": AT,
    }


MOVED_UP = [
    MovedUp(
        "ForwardedToProvince",
        {"opinion": "同意推荐", "by": "li", "at": AT},
        "province_reviewer",
        "53",
        "prefecture_reviewer",
        "review_queued",
        "省级",
    ),
    MovedUp(
        "Recommended",
        {"ranking_id": "ranking-53", "rank": 1, "by": "zhou", "at": AT},
        "national_reviewer",
        "CN",
        "province_reviewer",
        "review_queued",
        "全国",
    ),
    MovedUp(
        "ForwardedToLeadingGroup",
        {"opinion": "初审通过", "by": "qian", "at": AT},
        "leading_group",
        "CN",
        "national_reviewer",
        "review_queued",
        "领导小组",
    ),
    MovedUp(
        "LeadingGroupDecided",
        decided("approve"),
        "general_office",
        "CN",
        "leading_group",
        "review_queued",
        "办公室",
    ),
    MovedUp(
        "RenewalReviewReopened",
        {"statement": "申请续期：已补充五年建设总结", "at": AT},
        "province_reviewer",
        "53",
        "prefecture_reviewer",  # a renewal request never passes the prefecture
        "renewal_review_reopened",
        "省级",
        renewal=True,
    ),
    MovedUp(
        "RenewalForwarded",
        {"opinion": "同意续期", "by": "mao", "at": AT},
        "national_reviewer",
        "CN",
        "province_reviewer",
        "renewal_review_forwarded",
        "全国",
        renewal=True,
    ),
    MovedUp(
        "RenewalAssessmentRecorded",
        {
            "qualified": True,
            "reasons": [],
            "assessment_policy_version": "2022.1",
            "grades": [],
            "at": AT,
        },
        "general_office",
        "CN",
        "national_reviewer",
        "renewal_review_forwarded",
        "办公室",
        renewal=True,
    ),
]


async def _renewal_requested(upstream: Upstream, case_id: str) -> Envelope:
    data = {
        "renewal_id": f"renewal-{case_id}",
        "case_id": case_id,
        "base_id": f"base-{case_id}",
        "unit_id": UNIT,
        "unit_name": UNIT_NAME,
        "province": "53",
        "jurisdiction": "5301",
        "term_end": "2027-06-14",
        "at": AT,
        "statement": "申请续期",
    }
    return await upstream.send("review", "RenewalReviewOpened", data, f"renewal-{case_id}")


async def _renewal(upstream: Upstream, case_id: str, name: str, **data: Any) -> Envelope:
    ids = {"renewal_id": f"renewal-{case_id}", "case_id": case_id, "base_id": f"base-{case_id}"}
    return await upstream.send("review", name, {**ids, **data}, f"renewal-{case_id}")


@pytest.mark.parametrize("moved", MOVED_UP, ids=[m.event for m in MOVED_UP])
async def test_the_next_level_hears_when_a_case_moves_up_to_its_queue(
    moved: MovedUp, service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """The event names neither unit nor level: the level's reviewers whose jurisdictions cover
    the case's unit (known from the review or request that opened it) are told, once; the same
    role elsewhere and the level before are not."""
    ours = person(service, "next", moved.role, jurisdictions=(moved.covering,), email="n@x.cn")
    daily = person(service, "daily", moved.role, jurisdictions=(moved.covering,), email="d@x.cn")
    elsewhere = person(service, "gz", moved.role, jurisdictions=("52",), email="gz@x.cn")
    before = person(service, "before", moved.previous, jurisdictions=("53",), email="b@x.cn")
    for headers in (ours, elsewhere, before):
        await known(service, headers)
    digest = {"email_enabled": True, "language": "zh", "opt_out": [], "digest": "daily"}
    assert (await service.client.put("/preferences", json=digest, headers=daily)).is_success
    case = "case-20"
    if moved.renewal:
        await _renewal_requested(upstream, case)
        event = await _renewal(upstream, case, moved.event, **moved.data)
        link = f"/review/renewals/renewal-{case}"
    else:
        await upstream.review_opened(case, level="prefecture")
        data = {"application_id": f"application-{case}", **moved.data}
        event = await upstream.review(case, moved.event, **data)
        link = f"/review/cases/review-{case}"
    # The province's reviewers were told of the renewal request itself before.
    earlier = 1 if moved.renewal and moved.role == "province_reviewer" else 0

    items = await inbox_when(service, ours, 1 + earlier)
    (item,) = [i for i in items if i["kind"] == moved.kind]
    assert item["case_id"] == case
    assert item["link"] == link
    assert UNIT_NAME in item["subject"]
    assert f"{moved.level}审核队列" in item["body"]
    told = {r["user_id"]: r["status"] for r in await deliveries_of(service, event.id)}
    assert sorted(told) == ["daily", "next"]  # not "gz" (elsewhere), not "before"
    assert told["daily"] == "digest"

    async def mailed() -> list[Any]:
        return [m for m in sink.to("n@x.cn") if str(m["Subject"]) == item["subject"]]

    (mail,) = await eventually(mailed)
    assert f"http://127.0.0.1:8000{link}" in mail.get_content()
    assert f"{moved.level}审核队列" in mail.get_content()


async def test_a_decision_that_does_not_move_the_case_up_tells_no_reviewer(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """The leading group returning an application, an unqualified renewal assessment: no
    queue holds the case, and nobody is told of new work."""
    office = person(service, "gao", "general_office", jurisdictions=("CN",), email="g@x.cn")
    await known(service, office)
    await upstream.review_opened("case-21", level="prefecture")
    returned = await upstream.review(
        "case-21",
        "LeadingGroupDecided",
        application_id="application-case-21",
        **decided("return", "补充海外合作证明"),
    )
    await _renewal_requested(upstream, "case-22")
    unqualified = await _renewal(
        upstream,
        "case-22",
        "RenewalAssessmentRecorded",
        qualified=False,
        reasons=["考核不合格"],
        assessment_policy_version="2022.1",
        grades=[],
        at=AT,
    )
    await upstream.review_opened("case-23", level="prefecture")
    approved = await upstream.review(
        "case-23",
        "LeadingGroupDecided",
        application_id="application-case-23",
        **decided("approve"),
    )
    (item,) = await inbox_when(service, office, 1)  # read after the two before it
    assert item["case_id"] == "case-23"
    assert [r["user_id"] for r in await deliveries_of(service, approved.id)] == ["gao"]
    assert await deliveries_of(service, returned.id) == []
    assert await deliveries_of(service, unqualified.id) == []


async def test_finance_of_the_province_hears_of_instalments_due(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    yunnan = person(service, "cashier", "finance", jurisdictions=("53",), email="cash@x.cn")
    guizhou = person(service, "other", "finance", jurisdictions=("52",), email="gz@x.cn")
    await known(service, yunnan)
    await known(service, guizhou)
    await upstream.register_unit()
    await upstream.send(
        "review",
        "BaseDesignated",
        {
            "review_id": "rv-3",
            "application_id": "app-3",
            "case_id": "case-3",
            "base_id": "base-case-3",
            "programme": "national_base",
            "unit_id": UNIT,
            "unit_name": "昆明",
            "province": "53",
            "jurisdiction": "5301",
            "certificate_no": "HZ-1",
            "term_end": "2027-06-14",
        },
        "review-case-3",
    )
    due = await upstream.fund("case-3", "InstalmentDue")
    items = await inbox_when(service, yunnan, 1)
    assert items[0]["kind"] == "instalment_due"
    assert [r["user_id"] for r in await deliveries_of(service, due.id)] == ["cashier"]


async def test_an_old_event_is_recorded_and_told_to_nobody(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """The history a first deployment reads (DeliverPolicy.ALL) is not mailed out."""
    reviewer = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",), email="l@x.cn")
    await known(service, reviewer)
    await upstream.register_unit(CONTACT)
    old = await upstream.send(
        "assessment",
        "RectificationOrdered",
        {
            "base_id": "b-9",
            "case_id": "case-9",
            "rectification_id": "r",
            "year": 2020,
            "deadline": "2021-06-30",
        },
        "base-case-9",
        time=MORNING - timedelta(days=31),
    )
    fresh = await upstream.review_opened("case-10")
    await inbox_when(service, reviewer, 1)
    assert await deliveries_of(service, old.id) == []
    assert [r["user_id"] for r in await deliveries_of(service, fresh.id)] == ["li"]
    await sink.wait_for(1)
    assert [str(m["To"]) for m in sink.messages] == ["l@x.cn"]
