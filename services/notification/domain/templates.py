"""What a notice says, in Chinese and English: a subject and a text body naming the case,
what happened, what to do next and where in the console (`link`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .events import DigestItem, Kind

Language = str  # zh | en


@dataclass(frozen=True, slots=True)
class Text:
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class _Template:
    subject: str
    happened: str
    next_step: str
    path: str  # console path, formatted with the facts


_T: dict[Kind, dict[Language, _Template]] = {
    Kind.RETURNED: {
        "zh": _Template(
            "【海智计划】申报材料被退回：{unit_name}",
            "您单位的申报（案件 {case_id}）在{level}审核环节被退回。理由：{reasons}",
            "请按退回理由修改后重新提交。",
            "/applications/{application_id}",
        ),
        "en": _Template(
            "[HaiZhi] Application returned: {unit_name}",
            "Your application (case {case_id}) was returned at the {level} level. "
            "Reasons: {reasons}",
            "Amend it as the reasons ask and submit it again.",
            "/applications/{application_id}",
        ),
    },
    Kind.REJECTED: {
        "zh": _Template(
            "【海智计划】申报未获通过：{unit_name}",
            "您单位的申报（案件 {case_id}）在{level}审核环节未获通过。理由：{reasons}",
            "本次申报已终结；如有疑问请联系审核部门。",
            "/applications/{application_id}",
        ),
        "en": _Template(
            "[HaiZhi] Application rejected: {unit_name}",
            "Your application (case {case_id}) was rejected at the {level} level. "
            "Reasons: {reasons}",
            "This application is closed; contact the reviewing office with any question.",
            "/applications/{application_id}",
        ),
    },
    Kind.DESIGNATED: {
        "zh": _Template(
            "【海智计划】认定通知：{unit_name}",
            "您单位已获认定（案件 {case_id}，证书编号 {certificate_no}）。",
            "请在控制台查看认定信息，并按期报送年度报告。",
            "/unit/bases",
        ),
        "en": _Template(
            "[HaiZhi] Designated: {unit_name}",
            "Your unit has been designated (case {case_id}, certificate {certificate_no}).",
            "See the designation in the console and file the annual reports on time.",
            "/unit/bases",
        ),
    },
    Kind.REPORT_DUE: {
        "zh": _Template(
            "【海智计划】{year} 年度报告待报送",
            "基地 {base_id}（案件 {case_id}）的 {year} 年度工作报告已开放报送，截止日期 {due_on}。",
            "请在截止日期前提交年度工作报告。",
            "/unit/bases/{base_id}/years/{year}/report",
        ),
        "en": _Template(
            "[HaiZhi] {year} annual report due",
            "The {year} annual report of base {base_id} (case {case_id}) is open, due {due_on}.",
            "File the annual report before the due date.",
            "/unit/bases/{base_id}/years/{year}/report",
        ),
    },
    Kind.REPORT_OVERDUE: {
        "zh": _Template(
            "【海智计划】{year} 年度报告已逾期",
            "基地 {base_id}（案件 {case_id}）的 {year} 年度工作报告未在 {due_on} 前报送。",
            "请尽快报送；逾期未报将影响年度考核。",
            "/unit/bases/{base_id}/years/{year}/report",
        ),
        "en": _Template(
            "[HaiZhi] {year} annual report overdue",
            "The {year} annual report of base {base_id} (case {case_id}) was due {due_on} "
            "and has not been filed.",
            "File it at once: a missing report counts against the year's assessment.",
            "/unit/bases/{base_id}/years/{year}/report",
        ),
    },
    Kind.RECTIFICATION_ORDERED: {
        "zh": _Template(
            "【海智计划】限期整改通知",
            "基地 {base_id}（案件 {case_id}）{year} 年度考核不合格，"
            "须限期整改，截止日期 {deadline}。",
            "请在截止日期前提交整改报告。",
            "/unit/bases/{base_id}",
        ),
        "en": _Template(
            "[HaiZhi] Rectification ordered",
            "Base {base_id} (case {case_id}) was graded unqualified for {year} and must "
            "rectify by {deadline}.",
            "File the rectification report before the deadline.",
            "/unit/bases/{base_id}",
        ),
    },
    Kind.RENEWAL_WINDOW_OPEN: {
        "zh": _Template(
            "【海智计划】续期申请已开放",
            "基地 {base_id}（案件 {case_id}）的认定期至 {term_end} 届满，"
            "续期申请期至 {closes_on}。",
            "如需续期，请在申请期内提交书面续期申请。",
            "/unit/bases/{base_id}",
        ),
        "en": _Template(
            "[HaiZhi] Renewal window open",
            "The term of base {base_id} (case {case_id}) ends {term_end}; renewal requests "
            "are open until {closes_on}.",
            "To renew, file a written renewal request within the window.",
            "/unit/bases/{base_id}",
        ),
    },
    Kind.INSTALMENT_PAID: {
        "zh": _Template(
            "【海智计划】资助款已拨付",
            "基地 {base_id}（案件 {case_id}）第 {number} 期资助款 {amount} 元已于 {paid_on} 拨付"
            "（凭证号 {payment_ref}）。",
            "请核对到账情况。",
            "/unit/bases/{base_id}",
        ),
        "en": _Template(
            "[HaiZhi] Instalment paid",
            "Instalment {number} of base {base_id} (case {case_id}), CNY {amount}, was paid "
            "on {paid_on} (reference {payment_ref}).",
            "Check that it has reached your account.",
            "/unit/bases/{base_id}",
        ),
    },
    Kind.REVIEW_QUEUED: {
        "zh": _Template(
            "【海智计划】新的待审申报：{unit_name}",
            "{unit_name} 的申报（案件 {case_id}）已进入您的{level}审核队列。",
            "请及时审核。",
            "/review/cases/{review_id}",
        ),
        "en": _Template(
            "[HaiZhi] New in your review queue: {unit_name}",
            "The application of {unit_name} (case {case_id}) is in your {level} review queue.",
            "Review it in good time.",
            "/review/cases/{review_id}",
        ),
    },
    Kind.REVIEW_REOPENED: {
        "zh": _Template(
            "【海智计划】重新提交待审：{unit_name}",
            "{unit_name} 的申报（案件 {case_id}）已按退回意见修改并重新提交（第 {revision} 版），"
            "重新进入您的{level}审核队列。",
            "请及时审核修改后的申报。",
            "/review/cases/{review_id}",
        ),
        "en": _Template(
            "[HaiZhi] Resubmitted to your review queue: {unit_name}",
            "The application of {unit_name} (case {case_id}) was amended and submitted again "
            "(revision {revision}); it is back in your {level} review queue.",
            "Review the amended application in good time.",
            "/review/cases/{review_id}",
        ),
    },
    Kind.RENEWAL_REVIEW_QUEUED: {
        "zh": _Template(
            "【海智计划】新的续期申请待审：{unit_name}",
            "{unit_name}（基地 {base_id}，案件 {case_id}）已提交书面续期申请，认定期至 {term_end} "
            "届满，申请已进入您的{level}审核队列。",
            "请及时审核，转报或退回补充。",
            "/review/renewals/{renewal_id}",
        ),
        "en": _Template(
            "[HaiZhi] New renewal request in your review queue: {unit_name}",
            "{unit_name} (base {base_id}, case {case_id}) filed a written renewal request; its "
            "term ends {term_end}. The request is in your {level} review queue.",
            "Review it in good time: pass it on, or return it for completion.",
            "/review/renewals/{renewal_id}",
        ),
    },
    Kind.RENEWAL_REVIEW_REOPENED: {
        "zh": _Template(
            "【海智计划】续期申请补充后待审：{unit_name}",
            "{unit_name}（基地 {base_id}，案件 {case_id}）已按退回意见补充书面续期申请，"
            "申请重新进入您的{level}审核队列。",
            "请及时审核并转报；补充后的续期申请不再退回。",
            "/review/renewals/{renewal_id}",
        ),
        "en": _Template(
            "[HaiZhi] Completed renewal request back in your review queue: {unit_name}",
            "{unit_name} (base {base_id}, case {case_id}) completed the renewal request that "
            "was returned; it is back in your {level} review queue.",
            "Review it and pass it on in good time: a completed request is not returned again.",
            "/review/renewals/{renewal_id}",
        ),
    },
    Kind.RENEWAL_REVIEW_FORWARDED: {
        "zh": _Template(
            "【海智计划】续期申请转入待审：{unit_name}",
            "{unit_name}（基地 {base_id}，案件 {case_id}）的书面续期申请已通过上一环节，"
            "进入您的{level}审核队列。",
            "请及时审核办理。",
            "/review/renewals/{renewal_id}",
        ),
        "en": _Template(
            "[HaiZhi] Renewal request moved up to your review queue: {unit_name}",
            "The renewal request of {unit_name} (base {base_id}, case {case_id}) has passed "
            "the step before and is in your {level} review queue.",
            "Review it in good time.",
            "/review/renewals/{renewal_id}",
        ),
    },
    Kind.REPORT_REMINDER: {
        "zh": _Template(
            "【海智计划】{year} 年度报告截止提醒：还有 {days_before} 天",
            "基地 {base_id}（案件 {case_id}）的 {year} 年度工作报告截止日期为 {due_on}，"
            "距截止还有 {days_before} 天，尚未报送。",
            "请在截止日期前提交年度工作报告。",
            "/unit/bases/{base_id}/years/{year}/report",
        ),
        "en": _Template(
            "[HaiZhi] {year} annual report due in {days_before} days",
            "The {year} annual report of base {base_id} (case {case_id}) is due {due_on}, "
            "{days_before} days from now, and has not been filed.",
            "File the annual report before the due date.",
            "/unit/bases/{base_id}/years/{year}/report",
        ),
    },
    Kind.RECTIFICATION_REMINDER: {
        "zh": _Template(
            "【海智计划】整改报告截止提醒：还有 {days_left} 天",
            "基地 {base_id}（案件 {case_id}）{year} 年度考核不合格，"
            "整改报告须在 {deadline} 前提交，距截止还有 {days_left} 天，尚未提交。",
            "请在截止日期前提交整改报告。",
            "/unit/bases/{base_id}",
        ),
        "en": _Template(
            "[HaiZhi] Rectification report due in {days_left} days",
            "Base {base_id} (case {case_id}) was graded unqualified for {year}; its "
            "rectification report is due {deadline}, {days_left} days from now, and has not "
            "been filed.",
            "File the rectification report before the deadline.",
            "/unit/bases/{base_id}",
        ),
    },
    Kind.RENEWAL_REMINDER: {
        "zh": _Template(
            "【海智计划】续期申请即将截止：还有 {days_left} 天",
            "基地 {base_id}（案件 {case_id}）的认定期至 {term_end} 届满，续期申请期至 {closes_on} "
            "截止，距截止还有 {days_left} 天，尚未提交续期申请。",
            "如需续期，请在截止前提交书面续期申请；未申请续期的，认定期满即失效。",
            "/unit/bases/{base_id}",
        ),
        "en": _Template(
            "[HaiZhi] Renewal requests close in {days_left} days",
            "The term of base {base_id} (case {case_id}) ends {term_end}; renewal requests "
            "close {closes_on}, {days_left} days from now, and none has been filed.",
            "To renew, file a written renewal request before then: without one the "
            "designation ends with its term.",
            "/unit/bases/{base_id}",
        ),
    },
    Kind.INSTALMENT_DUE: {
        "zh": _Template(
            "【海智计划】资助款到期待拨付",
            "基地 {base_id}（案件 {case_id}）第 {number} 期资助款 {amount} 元已到期。",
            "请审核并办理拨付。",
            "/finance/plans/{plan_id}",
        ),
        "en": _Template(
            "[HaiZhi] Instalment due",
            "Instalment {number} of base {base_id} (case {case_id}), CNY {amount}, is due.",
            "Approve it and arrange the payment.",
            "/finance/plans/{plan_id}",
        ),
    },
}

_LEVELS = {
    "zh": {
        "prefecture": "地市",
        "province": "省级",
        "province_recommendation": "省级推荐",
        "provincial_decision": "省级审定",
        "national": "全国",
        "leading_group": "领导小组",
        "general_office": "办公室",
    },
    "en": {
        "province_recommendation": "provincial recommendation",
        "provincial_decision": "provincial decision",
        "leading_group": "leading group",
        "general_office": "general office",
    },
}
_NEXT = {"zh": "下一步：", "en": "What to do next: "}
_CONSOLE = {"zh": "在控制台查看：", "en": "In the console: "}
_CASE = {"zh": "案件", "en": "Case"}


def _yuan(fen: object) -> str:
    """Integer fen as yuan ("1,234.50"); anything but an integer shows as "—"."""
    try:
        amount = int(str(fen), 10)
    except ValueError:
        return "—"
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{part:02d}"


def path(kind: Kind, case_id: str, facts: Mapping[str, str]) -> str:
    """The console path (no host) of the case's page the notice points to, as its mail links."""
    values = _Filled({"case_id": case_id})
    values.update((name, str(value)) for name, value in facts.items() if value is not None)
    return _T[kind]["en"].path.format_map(values)


def render(
    kind: Kind, language: Language, case_id: str, facts: Mapping[str, str], console_url: str
) -> Text:
    """The notice in `language` (zh unless en)."""
    lang = "en" if language == "en" else "zh"
    template = _T[kind][lang]
    values: dict[str, str] = {"case_id": case_id, "unit_name": ""}
    values.update((name, str(value)) for name, value in facts.items() if value is not None)
    values["level"] = _LEVELS[lang].get(values.get("level", ""), values.get("level", ""))
    if "amount_fen" in values:
        values["amount"] = _yuan(values["amount_fen"])
    filled = _Filled(values)
    link = console_url.rstrip("/") + template.path.format_map(filled)
    body = "\n\n".join(
        [
            template.happened.format_map(filled),
            _NEXT[lang] + template.next_step.format_map(filled),
            _CONSOLE[lang] + link,
        ]
    )
    return Text(template.subject.format_map(filled), body + "\n")


def render_digest(
    language: Language, day: str, items: Sequence[DigestItem], console_url: str
) -> Text:
    """The daily digest: one line per item queued for a reviewer."""
    lang = "en" if language == "en" else "zh"
    lines = [
        f"- {_CASE[lang]} {item.case_id} {item.unit_name or ''}: "
        + render(item.kind, lang, item.case_id, {"unit_name": item.unit_name or ""}, console_url)
        .subject.removeprefix("【海智计划】")
        .removeprefix("[HaiZhi] ")
        for item in items
    ]
    if lang == "zh":
        subject = f"【海智计划】每日摘要 {day}：{len(items)} 项待办"
        intro = f"截至 {day}，您的队列中新增以下 {len(items)} 项："
    else:
        subject = f"[HaiZhi] Daily digest {day}: {len(items)} new items"
        intro = f"Up to {day}, these {len(items)} items were queued for you:"
    link = _CONSOLE[lang] + console_url.rstrip("/") + "/inbox"
    return Text(subject, "\n".join([intro, "", *lines, "", link]) + "\n")


class _Filled(dict[str, str]):
    """A fact a template names but the event did not carry shows as "—", never a KeyError."""

    def __missing__(self, key: str) -> str:
        return "—"
