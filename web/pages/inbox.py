"""The signed-in person's inbox (站内通知) and notification preferences (通知设置).

The notification service tells people what happened to their cases and what waits for them:
an applicant unit (申报单位) that its application was returned, a reviewer that work is in
their queue, finance that an instalment fell due. Each notice is in their inbox here, and by
mail unless they turn mail off. The header shows how many are unread (`Visit.refresh_unread`);
this page lists them newest first, marks one read, and sets the person's preferences: mail on
or off, the language of notices, the kinds they may turn off, and for reviewers one daily
digest mail instead of a mail per item.

The notification service is optional to the console: without `HAIZHI_WEB_NOTIFICATION_URL`
these pages say that notifications are not set up here, and the rest of the console works.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from shared.auth import Role

from ..fields import Id, Refusal, Typed, back, ticked
from ..i18n import N_
from ..paging import PAGE
from ..settings import NOTIFICATION
from ..visit import CurrentVisit, Form, NavItem, Visit, local_path

router = APIRouter()
NAV: list[NavItem] = [NavItem(N_("Inbox"), "/inbox", service=NOTIFICATION)]

#: What each kind of notice tells.
KINDS = {
    "returned": N_("Application returned for changes"),
    "rejected": N_("Application not approved"),
    "designated": N_("Designated"),
    "report_due": N_("Annual report due"),
    "report_overdue": N_("Annual report overdue"),
    "rectification_ordered": N_("Rectification ordered"),
    "renewal_window_open": N_("Renewal window open"),
    "instalment_paid": N_("Instalment paid"),
    "review_queued": N_("New work in your review queue"),
    "review_reopened": N_("A returned application resubmitted for review"),
    "renewal_review_queued": N_("A renewal request to review"),
    "renewal_review_reopened": N_("A completed renewal request back for review"),
    "renewal_review_forwarded": N_("A renewal request moved up to your review queue"),
    "instalment_due": N_("Instalment due for approval"),
    "report_reminder": N_("Annual report deadline near"),
    "rectification_reminder": N_("Rectification deadline near"),
    "renewal_reminder": N_("Renewal window closing soon"),
}
#: The kinds a person may turn off, as the notification service allows (the others always
#: reach them, in the inbox at least), and to whom each is told: a person sees only theirs.
REVIEWERS = frozenset(
    {
        Role.PREFECTURE_REVIEWER,
        Role.PROVINCE_REVIEWER,
        Role.NATIONAL_REVIEWER,
        Role.LEADING_GROUP,
        Role.GENERAL_OFFICE,
    }
)
OPTIONAL: dict[str, frozenset[Role]] = {
    "designated": frozenset({Role.APPLICANT}),
    "report_due": frozenset({Role.APPLICANT}),
    "report_reminder": frozenset({Role.APPLICANT}),
    "renewal_window_open": frozenset({Role.APPLICANT}),
    "renewal_reminder": frozenset({Role.APPLICANT}),
    "instalment_paid": frozenset({Role.APPLICANT}),
    "review_queued": REVIEWERS,
    "review_reopened": REVIEWERS,
    "renewal_review_queued": frozenset({Role.PROVINCE_REVIEWER}),
    "renewal_review_reopened": frozenset({Role.PROVINCE_REVIEWER}),
    "renewal_review_forwarded": frozenset({Role.NATIONAL_REVIEWER, Role.GENERAL_OFFICE}),
    "instalment_due": frozenset({Role.FINANCE}),
}
#: Who may choose the daily digest: the reviewers (the service refuses anyone else).
DIGEST_ROLES = REVIEWERS
LANGUAGES = {"zh": "简体中文", "en": "English"}
DIGESTS = {
    "off": N_("A mail for each notice"),
    "daily": N_("One digest mail a day (China Standard Time)"),
}
#: What the mail of a notice became, as the service records it.
MAIL = {
    "pending": N_("Mail being sent"),
    "sent": N_("Mailed"),
    "refused": N_("Mail refused by the address"),
    "failed": N_("Mail given up after repeated failures"),
    "digest": N_("In the next daily digest"),
    "digested": N_("Mailed in a daily digest"),
    "inbox": N_("Inbox only"),
    "none": N_("Inbox only"),
}
LANGUAGE = Refusal(
    N_("Choose the language of your notices: 简体中文 or English."),
    N_("Pick one of the two languages and save again."),
)
DIGEST = Refusal(
    N_("Choose how reviewing work is mailed to you: a mail for each notice or a daily digest."),
    N_("Pick one of the two and save again."),
)
KIND = Refusal(
    N_("Only the kinds of notice listed on this page can be turned off."),
    N_("Reload the page and choose among the kinds it lists."),
)


def _unavailable(visit: Visit) -> Response:
    """What the inbox pages say on a console without a notification service."""
    visit.require()
    return visit.page("inbox/unavailable.html", status=503)


def _link(item: dict[str, Any]) -> str | None:
    """The page of this console a notice points to, if it names one (never another site)."""
    link = item.get("link")
    if not isinstance(link, str) or not link:
        return None
    found = local_path(link, "")
    return found or None


def _inbox_path(unread: bool, cursor: str | None = None) -> str:
    query = {k: v for k, v in (("unread", "true" if unread else ""), ("cursor", cursor)) if v}
    return "/inbox" + (f"?{urlencode(query)}" if query else "")


@router.get("/inbox")
async def inbox(visit: CurrentVisit, unread: bool = False, cursor: str | None = None) -> Response:
    """The person's notices, newest first (only the unread ones, if asked), a page at a time."""
    if not visit.settings.notifications:
        return _unavailable(visit)
    visit.require()
    page = await visit.get(
        NOTIFICATION, "/inbox", limit=PAGE, cursor=cursor, unread="true" if unread else None
    )
    await visit.refresh_unread(force=True)
    following = page.get("next_cursor")
    return visit.page(
        "inbox/inbox.html",
        items=page.get("items") or [],
        unread_only=unread,
        kinds=KINDS,
        mail=MAIL,
        link=_link,
        here=_inbox_path(unread, cursor),
        all_path=_inbox_path(False),
        unread_path=_inbox_path(True),
        next_link=_inbox_path(unread, str(following)) if following else None,
        first_link=_inbox_path(unread) if cursor else None,
    )


@router.post("/inbox/{notification_id}/read")
async def mark_read(visit: CurrentVisit, form: Form, notification_id: Id) -> Response:
    """Mark one of the person's notices read; back to the page it was marked on."""
    if not visit.settings.notifications:
        return _unavailable(visit)
    visit.require()
    await visit.send(NOTIFICATION, f"/inbox/{notification_id}/read", form)
    await visit.refresh_unread(force=True)
    return visit.done(N_("The notice is marked read."), back(form, "/inbox"))


def _offered(visit: Visit) -> dict[str, str]:
    """The kinds this person may turn off: the optional ones told to a role of theirs."""
    person = visit.person
    return {kind: KINDS[kind] for kind, roles in OPTIONAL.items() if person.has(*roles)}


@router.get("/inbox/preferences")
async def preferences(visit: CurrentVisit) -> Response:
    """The person's preferences as the service holds them (its defaults until they save)."""
    if not visit.settings.notifications:
        return _unavailable(visit)
    person = visit.require()
    chosen = await visit.get(NOTIFICATION, "/preferences")
    return visit.page(
        "inbox/preferences.html",
        chosen=chosen,
        offered=_offered(visit),
        muted=set(chosen.get("opt_out") or []),
        languages=LANGUAGES,
        digests=DIGESTS,
        may_digest=person.has(*DIGEST_ROLES),
    )


@router.post("/inbox/preferences")
async def save_preferences(visit: CurrentVisit, form: Form) -> Response:
    if not visit.settings.notifications:
        return _unavailable(visit)
    person = visit.require()
    typed = Typed(visit, form)
    offered = _offered(visit)
    muted = [value for value in form.getlist("muted") if isinstance(value, str)]
    if any(kind not in offered for kind in muted):
        raise typed.refused("muted", KIND)
    body = {
        "email_enabled": ticked(form, "email"),
        "language": typed.choice("language", LANGUAGES, LANGUAGE),
        "opt_out": sorted(set(muted)),
        "digest": (typed.choice("digest", DIGESTS, DIGEST) if person.has(*DIGEST_ROLES) else "off"),
    }
    await visit.send(NOTIFICATION, "/preferences", form, method="PUT", json=body)
    return visit.done(N_("Your notification preferences are saved."), "/inbox/preferences")
