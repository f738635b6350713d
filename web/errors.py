"""What the console tells people when a service refuses or fails a request.

Every service answers an error as an RFC 9457 problem (`shared.problems`): `type`, `title`,
`status`, `detail`, and for a refusal a stable `code` (the last segment of `type`,
`https://haizhi.example/problems/<code>`) with its context. The services' titles and details
are English and written for developers; `explain` turns a problem into what the console shows
the person using it — an applicant unit (申报单位), a reviewer of a CAST (科协), a finance
officer — in their language: what happened, and what to do next.

`ERRORS` holds, for every code any service or shared module can answer with, a message and a
next step; a problem without a known code falls back to its HTTP status (`FALLBACKS`). The
texts are English msgids marked with `N_` for Babel's extractor (keyword `N_`); their Chinese
is in `web/locale/zh/LC_MESSAGES/errors.po`, read by `web.i18n` at start-up. The service's own
`detail` is passed on untranslated, as a secondary line for whoever needs the specifics.

`web/tests/test_errors.py` keeps the catalogue whole: every `DomainError` subclass and every
literal code in `shared/` and `services/` has an entry here, and every entry a translation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: Where every problem type of the services lives (`shared.problems.PROBLEM_TYPE_BASE`).
PROBLEM_TYPE_BASE = "https://haizhi.example/problems/"


def N_(text: str) -> str:  # noqa: N802 -- gettext's name for "mark now, translate later"
    """Marks `text` for the message extractor; it is translated when shown (`explain`)."""
    return text


@dataclass(frozen=True)
class Explanation:
    """A problem as the console shows it: translated message and next step, and the facts."""

    message: str
    next_step: str
    #: The problem's code (`submission-incomplete`), if it named one; None otherwise.
    code: str | None
    #: The HTTP status of the answer.
    status: int
    #: The service's own English detail, shown as a secondary "details" line.
    detail: str | None


# Message and next step for every problem code (code -> (message, next step)), grouped by the
# service that answers with it. A code used by two services (`base-not-found`, `invalid-term`,
# `reasons-required`) has one entry, worded for both.
ERRORS: dict[str, tuple[str, str]] = {
    # --- Every service (shared/): refusals of the rules, requests, versions, permissions ---
    "domain-error": (
        N_("The request was refused by the rules that apply in the current situation."),
        N_(
            "Reload the page to see the current state, then try again; if it is refused again, "
            "contact the administrator."
        ),
    ),
    "not-found": (
        N_("The record you asked for does not exist, or it is outside what you may see."),
        N_("Check the number or the link, or go back to the list and open the record from there."),
    ),
    "invalid-command": (
        N_("The request does not meet the rules, so nothing was saved."),
        N_("Read the details below, correct what they name and try again."),
    ),
    "concurrency-conflict": (
        N_("Someone else changed this record after you opened it, so your change was not saved."),
        N_(
            "Reload the page to see the latest version; if your change is still needed, make it "
            "again and save."
        ),
    ),
    "idempotency-key-reused": (
        N_(
            "The same request was sent again with different content, so it was refused to avoid a "
            "duplicate record."
        ),
        N_("Reload the page and do the action again from the start."),
    ),
    "invalid-request": (
        N_("Some of the information entered is missing or not in the right format."),
        N_("Correct the fields named and submit again."),
    ),
    # The console's own check of a form it received (web/failures.py), before any service.
    "validation-failed": (
        N_("Some of the information entered is missing or not in the right format."),
        N_("Correct the fields named and submit again."),
    ),
    "malformed-json": (
        N_("The service could not read the request the console sent."),
        N_("Reload the page and try again; if it happens again, report it to the administrator."),
    ),
    "precondition-required": (
        N_(
            "The service needs to know which version of the record you are changing, and the "
            "request did not say."
        ),
        N_("Reload the page and make the change again."),
    ),
    "store-unavailable": (
        N_("The service is temporarily unavailable; nothing was saved."),
        N_(
            "Wait a moment and try again; sending the same request again will not create a "
            "duplicate."
        ),
    ),
    "body-too-large": (
        N_("What you sent is too large for the service to accept."),
        N_("Shorten the text, or split it into several parts, and submit again."),
    ),
    "forbidden": (
        N_("You do not have permission to do this."),
        N_("If your work requires it, ask the administrator to check the roles of your account."),
    ),
    "role-required": (
        N_("Your account does not have the role this action needs."),
        N_(
            "Ask the administrator to give your account the role, or ask a colleague who holds it "
            "to do this."
        ),
    ),
    "outside-jurisdiction": (
        N_("This lies outside the area you are responsible for."),
        N_(
            "Pass it to the CAST responsible for that area; if your account's jurisdiction is "
            "wrong, contact the administrator."
        ),
    ),
    "another-organisation": (
        N_("This belongs to another organisation."),
        N_("You can act only for your own organisation; sign in with your own unit's account."),
    ),
    "base-outside-jurisdiction": (
        N_("A work base on this list lies outside your jurisdiction."),
        N_(
            "Ask a colleague whose jurisdiction covers every base on the list (usually a "
            "nationwide one) to handle it."
        ),
    ),
    "applicant-without-unit": (
        N_("Your account is not linked to an applicant unit."),
        N_("Ask the administrator to link your account to your unit, then sign in again."),
    ),
    "reader-without-reach": (
        N_(
            "Your account is neither linked to an applicant unit nor assigned a jurisdiction, so "
            "it cannot see any applications."
        ),
        N_(
            "Ask the administrator to link your account to your unit or to assign your "
            "jurisdiction."
        ),
    ),
    "outside-token-jurisdiction": (
        N_("The region entered for your unit is outside the region your account belongs to."),
        N_(
            "Choose the region where your unit actually is; if your account's region is wrong, "
            "contact the administrator."
        ),
    ),
    "not-the-receiving-office": (
        N_(
            "Only a reviewer of the office that receives this application's paper file can record "
            "its receipt."
        ),
        N_(
            "Applications of prefecture-level units are received by their prefecture CAST, all "
            "others by the provincial CAST; ask that office to record the receipt."
        ),
    ),
    "attachment-too-large": (
        N_("The file is larger than an attachment may be."),
        N_(
            "Make the file smaller (for example, scan at a lower resolution or compress the PDF) "
            "and upload it again."
        ),
    ),
    "multipart-required": (
        N_("The file was not sent as an upload."),
        N_("Use the upload button on the materials page to attach the file."),
    ),
    "file-missing": (
        N_("No file was attached."),
        N_("Choose the file and upload it again."),
    ),
    "unsupported-file": (
        N_(
            "This kind of file cannot be accepted: attachments must be PDF, PNG, JPEG or Word "
            "(DOCX) files."
        ),
        N_(
            "Save the material as a PDF, an image (PNG or JPEG) or a DOCX document, and upload it "
            "again."
        ),
    ),
    "mislabelled-file": (
        N_(
            "The file's name or type does not match its content (for example, a Word document "
            "named as a PDF)."
        ),
        N_(
            "Save the file in its real format with the matching file extension, and upload it "
            "again."
        ),
    ),
    "unknown-slot": (
        N_("The material chosen for this file is not one of the application's materials."),
        N_("Choose from the list the material the file belongs to, and upload it again."),
    ),
    # --- Application service: unit registration (单位注册) ---
    "conflict": (
        N_("This cannot be done while the record is in its current state."),
        N_("Reload the page to see the current status and the actions available now."),
    ),
    "unit-not-found": (
        N_("No registered unit was found."),
        N_("Check the unit; if it has not registered yet, register it first."),
    ),
    "unit-already-registered": (
        N_("Your unit is already registered."),
        N_("To change its details, amend the existing registration instead of registering again."),
    ),
    "credit-code-registered": (
        N_("Another unit is already registered under this unified social credit code."),
        N_(
            "Check the code against your unit's business licence or registration certificate; if "
            "it is right and your unit never registered, contact the provincial CAST."
        ),
    ),
    "invalid-registration": (
        N_("Some of the unit's registration details are missing or wrong."),
        N_(
            "Check the unit's name, category, administrative level, region, contacts and address, "
            "correct them and submit again."
        ),
    ),
    "invalid-credit-code": (
        N_("This is not a valid unified social credit code."),
        N_(
            "Enter the 18-character code exactly as it appears on your unit's business licence or "
            "registration certificate."
        ),
    ),
    "unit-not-pending": (
        N_("This registration is not waiting for verification."),
        N_(
            "Reload the page: it may already have been verified, or returned to the unit to be "
            "amended."
        ),
    ),
    "unit-not-registered": (
        N_("Your unit has not registered yet."),
        N_("Register your unit first; once its CAST has verified the registration, you can apply."),
    ),
    "unit-not-verified": (
        N_("Your unit's registration has not been verified yet."),
        N_(
            "Wait until your CAST has verified the registration (if it was returned, amend it and "
            "submit it again), then try again."
        ),
    ),
    "set-by-registration": (
        N_(
            "The unit's category, administrative level and region come from its verified "
            "registration and cannot be entered on the application."
        ),
        N_(
            "Leave these details out of the application; to change them, amend your unit's "
            "registration."
        ),
    ),
    "not-the-units-cast": (
        N_("Only the CAST the unit belongs to can verify its registration."),
        N_(
            "A prefecture-level unit is verified by its prefecture CAST; provincial and central "
            "units by the provincial CAST. Pass the registration to that office."
        ),
    ),
    # --- Application service: calls for applications (申报通知) ---
    "call-not-found": (
        N_("No such call for applications was found."),
        N_("Go back to the list of calls and choose one from there."),
    ),
    "call-already-opened": (
        N_("A call with this number is already open with different terms."),
        N_(
            "Check the open call's deadline, materials and other terms; to publish a different "
            "call, give it a new number."
        ),
    ),
    "invalid-call": (
        N_("The terms of the call are incomplete or wrong."),
        N_(
            "Check the deadline, the required materials (at least the four materials of Art. 7 and "
            "the signed and sealed application form), the number of paper copies and the contacts, "
            "then save again."
        ),
    ),
    "deadline-not-reached": (
        N_("The call's deadline has not passed yet, so the call cannot be closed."),
        N_("Close the call after its deadline."),
    ),
    "call-closed": (
        N_("The call for applications is closed: its deadline has passed."),
        N_(
            "Applications can no longer be made or submitted under this call; watch for the next "
            "call."
        ),
    ),
    # --- Application service: applications (申报) and their materials ---
    "application-not-found": (
        N_("No such application was found, or it is not one you may see."),
        N_("Go back to the list of applications and open it from there."),
    ),
    "application-already-exists": (
        N_("This application already exists."),
        N_(
            "Reload the page and continue with the existing application instead of creating a new "
            "one."
        ),
    ),
    "not-applicant-unit": (
        N_("Only the unit that made this application can do this."),
        N_("Sign in with the applicant unit's account."),
    ),
    "invalid-applicant": (
        N_("The applicant unit's name or region is not valid."),
        N_("Check your unit's registration and amend it if needed."),
    ),
    "application-already-active": (
        N_("Your unit already has an application for this programme under this call."),
        N_("Continue with the existing application instead of starting a new one."),
    ),
    "active-base-held": (
        N_(
            "Your unit already holds a designated HaiZhi work base, so it cannot apply for a new "
            "one."
        ),
        N_("Ask for the base's renewal instead, within the 90 days before its term ends."),
    ),
    "wrong-call": (
        N_("The call given is not the one this application was made under."),
        N_("Reload the application and act from its own page."),
    ),
    "outside-call-province": (
        N_("Your unit is not located in the province that issued this call."),
        N_("Apply under a call issued by your own province."),
    ),
    "workstation-not-offered": (
        N_("This call does not accept applications for the provincial work station."),
        N_(
            "Apply for the national work base only, or wait for a call that offers the work "
            "station."
        ),
    ),
    "workstation-needs-national-application": (
        N_(
            "An application for the provincial work station goes together with an application for "
            "the national work base."
        ),
        N_("Start from your unit's work base application and request the work station there."),
    ),
    "workstation-already-requested": (
        N_("The provincial work station has already been applied for."),
        N_("Continue with the existing work station application."),
    ),
    "unknown-form-fields": (
        N_("The form contains fields that the application form does not have."),
        N_(
            "Reload the form and fill it in again; if the problem remains, report it to the "
            "administrator."
        ),
    ),
    "invalid-form-values": (
        N_("Some entries on the application form are not valid."),
        N_(
            "Correct the fields named (for example dates, amounts in 10,000 CNY, telephone numbers "
            "and e-mail addresses) and save again."
        ),
    ),
    "invalid-attachment": (
        N_("The attachment's details are missing or wrong."),
        N_("Choose the material the file belongs to, give it a name and upload it again."),
    ),
    "slot-already-filled": (
        N_("A file has already been uploaded for this material."),
        N_("Replace the existing file instead of adding another one."),
    ),
    "attachment-already-exists": (
        N_("This attachment has already been added."),
        N_("Reload the page: the file is already among the materials."),
    ),
    "attachment-not-found": (
        N_("No such attachment was found."),
        N_("Reload the list of materials: the file may have been removed or replaced."),
    ),
    "submission-incomplete": (
        N_("The application cannot be submitted yet: something required is missing."),
        N_(
            "Fill in the missing fields and upload the missing materials listed on the checklist, "
            "then submit again."
        ),
    ),
    "application-frozen": (
        N_("The application has been submitted and can no longer be changed."),
        N_("If it is returned for revision you can change it then; otherwise wait for the review."),
    ),
    "application-closed": (
        N_("The application has been withdrawn or decided, so nothing more can be done with it."),
        N_("Open the application to see its final status."),
    ),
    "not-submitted": (
        N_("The application has not been submitted yet."),
        N_("The applicant unit must submit it first."),
    ),
    "invalid-receipt": (
        N_("The receipt record is incomplete."),
        N_(
            "Enter the date received, the name of the person who received the file and the number "
            "of paper copies (zero or more), then save again."
        ),
    ),
    "not-under-review": (
        N_("The application is not under review at the moment."),
        N_("Reload the page to see its current status."),
    ),
    # --- Application service: renewal of a designated base (续期) ---
    "base-not-found": (
        N_("No such work base was found, or it is outside what you may see."),
        N_("Go back to the list of work bases and open it from there."),
    ),
    "base-already-recorded": (
        N_("This work base has already been recorded with different details."),
        N_("Report this to the administrator so the base's records can be checked."),
    ),
    "base-no-longer-designated": (
        N_("This work base's designation has expired or has been revoked."),
        N_(
            "No renewal or other request can be made for it any more; contact the provincial CAST "
            "if you have questions."
        ),
    ),
    "not-base-unit": (
        N_("Only the base's own host unit can do this."),
        N_("Sign in with the host unit's account."),
    ),
    "renewal-window-not-open": (
        N_(
            "It is too early to ask for renewal: requests are accepted from 90 days before the "
            "base's term ends."
        ),
        N_("Come back when the renewal period opens; the base's page shows the date."),
    ),
    "renewal-window-closed": (
        N_("The renewal period has closed: the base's term has ended."),
        N_(
            "A renewal can no longer be asked for this term; contact the provincial CAST for "
            "advice."
        ),
    ),
    "renewal-already-pending": (
        N_("A renewal request for this base is already in progress."),
        N_("Follow the existing request on the base's page instead of filing another one."),
    ),
    "no-renewal-pending": (
        N_("There is no renewal request in progress for this base."),
        N_("Reload the page: the request may already have been decided or withdrawn."),
    ),
    "empty-statement": (
        N_("The written renewal request is empty."),
        N_(
            "Write the request (the base's work during its term and its plans for the next one), "
            "then submit it."
        ),
    ),
    "renewal-not-returned": (
        N_("The renewal request was not returned for completion, so it cannot be resubmitted."),
        N_(
            "Wait for the provincial CAST to process it; you can resubmit it only if it is "
            "returned to you."
        ),
    ),
    # --- Review service: reviews (审核), recommendation and approval ---
    "review-not-found": (
        N_("No review of this application was found, or it is outside your jurisdiction."),
        N_("Go back to the review list and open it from there."),
    ),
    "ranking-not-found": (
        N_("This call's recommendation list has no candidates yet."),
        N_("Candidates appear once the provincial CAST has accepted applications under the call."),
    ),
    "renewal-not-found": (
        N_("No such renewal request was found, or it is outside your jurisdiction."),
        N_("Go back to the list of renewal requests and open it from there."),
    ),
    "review-already-opened": (
        N_("This review already belongs to another application."),
        N_("Report this to the administrator so the review records can be checked."),
    ),
    "not-awaiting-resubmission": (
        N_("The application was not returned for revision, so it cannot be resubmitted."),
        N_(
            "Wait for the review to go on; you can resubmit only after the application is returned "
            "to you."
        ),
    ),
    "review-not-in-progress": (
        N_("The review is not at any level at the moment."),
        N_("Reload the page to see where the review stands."),
    ),
    "review-concluded": (
        N_("The review has concluded; no more decisions can be recorded."),
        N_("Open the application to see the outcome."),
    ),
    "renewal-not-in-progress": (
        N_("The renewal request is not at any level of review at the moment."),
        N_("Reload the page to see where the request stands."),
    ),
    "renewal-concluded": (
        N_("The renewal request has been concluded; no more decisions can be recorded."),
        N_("Open the renewal request to see the outcome."),
    ),
    "renewal-not-awaiting-resubmission": (
        N_("The renewal request was not returned to the unit, so it cannot be resubmitted."),
        N_(
            "Wait for the provincial CAST to process it; you can resubmit only if it is returned "
            "to you."
        ),
    ),
    "renewal-already-returned": (
        N_(
            "The provincial CAST may return a renewal request for completion only once, and this "
            "one has already been returned."
        ),
        N_("Pass the request on to the CAST international liaison department as it is."),
    ),
    "renewal-not-awaiting-assessment": (
        N_("No renewal assessment has been asked for on this renewal request."),
        N_("The provincial CAST must first pass the request on to the national department."),
    ),
    "level-mismatch": (
        N_(
            "The application is no longer at your review level: a decision may have been recorded "
            "meanwhile."
        ),
        N_("Reload the page to see where the review stands now."),
    ),
    "decision-not-allowed-at-level": (
        N_("This decision cannot be taken at this review level."),
        N_("Choose one of the decisions offered on the page."),
    ),
    "no-prefecture-on-route": (
        N_(
            "This application came directly to the provincial CAST, so there is no prefecture CAST "
            "to return it to."
        ),
        N_(
            "Return it to the applicant unit for revision, or decide on it at the provincial level."
        ),
    ),
    "reasons-required": (
        N_("This decision needs its reasons."),
        N_("Write the reasons (the unit will see them), then record the decision again."),
    ),
    "invalid-score": (
        N_("A score must be a whole number from 0 to 100, given for a named criterion."),
        N_("Correct the scores and save again."),
    ),
    "invalid-rank": (
        N_("A rank must be a whole number of 1 or more."),
        N_("Correct the ranks and save again."),
    ),
    "meeting-record-incomplete": (
        N_(
            "The leading group's decision needs its meeting reference and the members present, and "
            "the meeting cannot be in the future."
        ),
        N_(
            "Enter the meeting reference, the meeting date and the members present, then save "
            "again."
        ),
    ),
    "not-this-programme": (
        N_("This decision belongs to another programme's review chain."),
        N_(
            "Use the decisions offered for this programme: a provincial work station ends with the "
            "provincial CAST's decision and gets no national plaque."
        ),
    ),
    "workstation-series-missing": (
        N_(
            "The province has not set a certificate numbering series for work stations, so no "
            "certificate can be issued."
        ),
        N_(
            "Ask the administrator to add the work station certificate series to the province's "
            "policy."
        ),
    ),
    "relied-on-stale-version": (
        N_("The decision was based on a version of the application other than the one submitted."),
        N_("Reload the application, read the submitted version and record the decision again."),
    ),
    "conflict-of-interest": (
        N_("You have a conflict of interest with this application."),
        N_("Leave this review to another reviewer."),
    ),
    "reviewer-from-applicant-unit": (
        N_("You belong to the applicant unit, so you cannot review this application."),
        N_("Leave this review to a reviewer from another unit."),
    ),
    "reviewer-recused": (
        N_(
            "You declared a conflict of interest with this application, so you are recused from it."
        ),
        N_("Leave this review to another reviewer."),
    ),
    "conflict-declaration-missing": (
        N_(
            "You must declare that you have no conflict of interest before you read or decide on "
            "this application."
        ),
        N_("Make the conflict-of-interest declaration on the review page, then continue."),
    ),
    "separation-of-duties-violated": (
        N_(
            "You decided on this case at the previous level, so you cannot decide on it at this "
            "level too."
        ),
        N_("Ask another reviewer to take this decision."),
    ),
    "candidate-from-other-ranking": (
        N_("This candidate belongs to another call or another province."),
        N_("Rank only the applications of this call from your province."),
    ),
    "no-candidates": (
        N_("There are no candidates to rank."),
        N_("Candidates appear once the provincial CAST has accepted applications under this call."),
    ),
    "unknown-candidate": (
        N_("The list names an application that is not a candidate."),
        N_("Rank only the candidates shown on the page."),
    ),
    "duplicate-candidate": (
        N_("The list names the same application twice."),
        N_("Keep each application once in the list and save again."),
    ),
    "invalid-quota": (
        N_("The quota must be a whole number of 1 or more."),
        N_("Correct the quota and save again."),
    ),
    "quota-exceeded": (
        N_("More applications are recommended than the quota allows."),
        N_("Recommend fewer applications, within the quota, and save again."),
    ),
    "recommendation-list-final": (
        N_("The recommendation list has already been submitted and can no longer be changed."),
        N_("Open the list to see what was submitted."),
    ),
    # --- Assessment service: a base, its annual report (年度报告) and assessment (年度考核) ---
    "base-already-registered": (
        N_("This work base is already on record for another application."),
        N_("Report this to the administrator so the base's records can be checked."),
    ),
    "invalid-term": (
        N_(
            "The term's dates are not valid: a term must end after it starts, and a renewed term "
            "after the current one."
        ),
        N_("Check the start and end dates and try again."),
    ),
    "base-not-active": (
        N_("The base's designation has been revoked or has expired."),
        N_("Nothing more can be recorded for this base."),
    ),
    "not-the-base-unit": (
        N_("Only the base's own host unit can file its reports."),
        N_("Sign in with the host unit's account to file the report."),
    ),
    "not-local-cast": (
        N_("Only the base's local CAST can forward its annual report."),
        N_(
            "A base that applied through its prefecture CAST has its report forwarded by that "
            "CAST; any other base by the provincial CAST."
        ),
    ),
    "year-before-designation": (
        N_(
            "The base does not report for that year: it was designated after that year, or late in "
            "it."
        ),
        N_(
            "Choose a later year: a base designated in the last 90 days of a year first reports "
            "for the following year."
        ),
    ),
    "reporting-not-yet-open": (
        N_(
            "Annual reports for that year cannot be filed yet: reporting has not reached its "
            "opening day."
        ),
        N_("Come back on the opening day (usually 1 December) and file the report then."),
    ),
    "reporting-not-open": (
        N_("Reporting for that year has not been opened."),
        N_("Wait until reporting for that year opens, then file the report."),
    ),
    "reporting-closed": (
        N_("That year has already been assessed, so its reporting is closed."),
        N_("No report can be filed or changed for that year any more."),
    ),
    "unknown-reminder": (
        N_("The policy has no reminder that many days before the due date."),
        N_(
            "Use one of the reminder days the policy sets (for example 14 or 3 days before the due "
            "date)."
        ),
    ),
    "reminder-not-yet-due": (
        N_("It is not yet time to send this reminder."),
        N_("The reminder is sent on its day; nothing needs to be done now."),
    ),
    "report-already-filed": (
        N_("The annual report for that year has already been filed."),
        N_("Open the filed report to see it; a year's report is filed only once."),
    ),
    "invalid-report": (
        N_("The annual report is incomplete or not filled in correctly."),
        N_(
            "Complete both the year's work summary and next year's work plan, correct the marked "
            "items and file it again."
        ),
    ),
    "report-not-filed": (
        N_("No annual report has been filed for that year."),
        N_("The base's host unit must file the report first."),
    ),
    "report-not-yet-overdue": (
        N_("The report's due date has not passed yet."),
        N_("Wait until after the due date before recording the report as missing."),
    ),
    "report-not-forwarded": (
        N_(
            "The base's local CAST has not forwarded its annual report yet, so it cannot be scored "
            "(Art. 10)."
        ),
        N_(
            "Ask the base's local CAST (the prefecture or provincial CAST) to forward the report "
            "first."
        ),
    ),
    "invalid-scores": (
        N_(
            "The scores are incomplete or out of range: each of the five criteria needs exactly "
            "one score from 0 to 100."
        ),
        N_("Enter one score from 0 to 100 for every criterion and save again."),
    ),
    "assessment-too-early": (
        N_(
            "The year cannot be scored yet: the base's report has not been filed and is not yet "
            "due."
        ),
        N_("Score the base once its report is filed or its due date has passed."),
    ),
    "grade-already-final": (
        N_("The grade for that year is already final and cannot be changed."),
        N_("Open the base's assessment record to see the final grade."),
    ),
    "grade-not-proposed": (
        N_("The base has not been scored for that year yet."),
        N_("Score the base and propose its grade first."),
    ),
    "grade-reason-required": (
        N_("A grade other than the one the scores suggest needs a written reason."),
        N_("Write the reason for the grade you propose, then save again."),
    ),
    "grade-proposal-changed": (
        N_("The base's proposed grade was changed after the grade list was drawn up."),
        N_("Propose the grade list again so that it shows the current proposed grade."),
    ),
    "rectification-id-required": (
        N_("An unqualified grade needs the number of its rectification order."),
        N_("Enter the rectification order number and save again."),
    ),
    "rectification-not-found": (
        N_("No such rectification order was found."),
        N_("Go back to the base's page and open the rectification from there."),
    ),
    "rectification-report-pending": (
        N_("A rectification report is already waiting for a decision."),
        N_(
            "Wait for the CAST international liaison department to decide on it before sending "
            "another."
        ),
    ),
    "rectification-already-accepted": (
        N_("The rectification has already been accepted."),
        N_("Nothing more needs to be done for it."),
    ),
    "no-rectification-report": (
        N_("No rectification report is waiting for a decision."),
        N_("The base's host unit must submit its rectification report first."),
    ),
    "invalid-rectification-report": (
        N_("The rectification report is incomplete or not filled in correctly."),
        N_("Complete the report, correct the marked items and submit it again."),
    ),
    "rectification-not-yet-overdue": (
        N_("The rectification deadline has not passed yet."),
        N_("Wait until after the deadline before recording the rectification as overdue."),
    ),
    "revocation-not-proposed": (
        N_("No revocation has been proposed for this base."),
        N_(
            "A revocation must be proposed (after two consecutive unqualified years) before the "
            "leading group can confirm it."
        ),
    ),
    "renewal-window-not-yet-open": (
        N_("The renewal period has not started yet."),
        N_("Renewal requests are accepted from 90 days before the base's term ends; file it then."),
    ),
    "term-not-ended": (
        N_("The base's term has not ended yet."),
        N_("Wait until the term has ended."),
    ),
    "renewal-for-another-term": (
        N_("The renewal request names a term other than the base's current one."),
        N_("Reload the base's page and file the request for its current term."),
    ),
    "renewal-requested-after-term": (
        N_(
            "The renewal request came too late: it must be filed within the renewal period, by the "
            "last day of the term."
        ),
        N_("Contact the provincial CAST for advice."),
    ),
    "renewal-already-requested": (
        N_("Another renewal request for this term is still open."),
        N_("Follow that request instead of filing a new one."),
    ),
    "renewal-assessment-not-requested": (
        N_("No renewal assessment has been requested for this renewal."),
        N_(
            "The renewal assessment can be recorded once the request has been passed on for "
            "assessment."
        ),
    ),
    "renewal-already-assessed": (
        N_("The renewal has already been assessed; the assessment is final."),
        N_("Open the renewal to see its assessment."),
    ),
    "renewal-reasons-required": (
        N_("The renewal assessment needs its reasons."),
        N_("Write the reasons for the assessment, then save again."),
    ),
    # --- Assessment service: a year's grade list (考核等次名单) ---
    "invalid-grade-list": (
        N_("The grade list is not valid: it must name each base once, for the list's own year."),
        N_("Remove repeated bases and bases of other years, then save again."),
    ),
    "grade-list-not-proposed": (
        N_("No grade list has been proposed for that year."),
        N_("The CAST international liaison department must propose the year's grade list first."),
    ),
    "grade-list-already-approved": (
        N_("The year's grade list has already been approved and is final."),
        N_("No changes can be made; open the list to see the approved grades."),
    ),
    "invalid-approval": (
        N_("The approval must name the leading group meeting, held no later than today."),
        N_("Enter the meeting reference and date, then save again."),
    ),
    "grade-list-incomplete": (
        N_(
            "The grade list is incomplete: every base due an assessment that year must be scored "
            "and on the list."
        ),
        N_("Score the missing bases, add them to the list and submit it again."),
    ),
    "base-not-gradable": (
        N_(
            "A base on the list cannot be graded: only an active base with a proposed grade that "
            "is not yet final can be on the list."
        ),
        N_("Remove that base from the list, or score it and propose its grade first."),
    ),
    "grade-list-not-found": (
        N_("No grade list has been proposed for that year."),
        N_("Choose another year, or wait until the year's grade list is proposed."),
    ),
    "invalid-amendment": (
        N_(
            "The amendment is not valid: it must name a base on the list once, give it a different "
            "grade and state the reason."
        ),
        N_("Correct the amendment and save again."),
    ),
    # --- Assessment service: a provincial work station (省科协海智计划工作站) ---
    "workstation-not-found": (
        N_("No such work station was found."),
        N_("Go back to the list of work stations and open it from there."),
    ),
    "workstation-already-recorded": (
        N_("This work station has already been recorded."),
        N_("Report this to the administrator if the work station's records look wrong."),
    ),
    "workstation-not-tracked": (
        N_(
            "Work stations in this province have no term or assessment here: the province has set "
            "no work station policy."
        ),
        N_("Contact the provincial CAST to learn how its work stations are managed."),
    ),
    # --- Funding service: subsidy plans (补助资金计划) and their instalments ---
    "plan-not-found": (
        N_("No subsidy plan was found for this base."),
        N_(
            "Check the base; a plan is drawn up after the base's approval, so reload later if it "
            "was approved only recently."
        ),
    ),
    "instalment-not-found": (
        N_("No such instalment in this subsidy plan."),
        N_("Reload the plan and choose the instalment from it."),
    ),
    "plan-already-exists": (
        N_("This subsidy plan number already belongs to another base."),
        N_("Report this to the administrator so the plans can be checked."),
    ),
    "plan-closed": (
        N_("The subsidy plan is closed."),
        N_("No instalment can be approved or paid under it any more."),
    ),
    "instalment-not-due": (
        N_("The instalment is not due yet."),
        N_("It can be approved from its due date, shown in the plan."),
    ),
    "instalment-on-hold": (
        N_("The instalment is on hold while the base carries out rectification."),
        N_("It is released once the rectification is accepted; approve it then."),
    ),
    "instalment-already-approved": (
        N_("Another officer has already approved this instalment."),
        N_("Reload the plan: the next step is to confirm its payment, by a different officer."),
    ),
    "instalment-not-approved": (
        N_("The instalment must be approved before its payment is confirmed."),
        N_("Have the instalment approved first, then confirm the payment."),
    ),
    "instalment-already-paid": (
        N_("The instalment has already been paid under another payment reference."),
        N_("Check the payment reference: the instalment must not be paid twice."),
    ),
    "instalment-not-paid": (
        N_("Only a paid instalment can have its payment recorded as returned."),
        N_("Check the instalment's status in the plan."),
    ),
    "instalment-cancelled": (
        N_("The instalment has been cancelled: the base was revoked, expired or refused renewal."),
        N_("It can no longer be approved or paid."),
    ),
    "separation-of-duties": (
        N_("The officer who approved an instalment cannot also confirm its payment."),
        N_("Ask another finance officer to confirm the payment."),
    ),
    "payment-reference-in-use": (
        N_("This payment reference has already been used for another instalment."),
        N_("Check the reference against the bank record and enter the right one."),
    ),
    "payment-reference-returned": (
        N_("That payment was returned, so its reference cannot be used again."),
        N_("Make a new payment and enter its new reference."),
    ),
    "payment-reference-mismatch": (
        N_("The instalment was paid under a different payment reference."),
        N_("Enter the reference of the payment that paid this instalment."),
    ),
    "conflicting-payment-confirmation": (
        N_("This payment reference was already confirmed with a different date or amount."),
        N_("Check the bank record: the payment date and amount must match the first confirmation."),
    ),
    "payment-amount-mismatch": (
        N_("The amount paid is not the instalment's amount."),
        N_("Enter exactly the instalment's amount; partial or larger payments are not accepted."),
    ),
    "payment-date-in-future": (
        N_("The payment date is in the future."),
        N_("Enter the date the payment was actually made: today or earlier, Beijing time."),
    ),
    "subsidy-not-planned": (
        N_("The base's province provides no subsidy for it."),
        N_(
            "Subsidies are set by each province's own policy; contact the provincial CAST with any "
            "questions."
        ),
    ),
    "programme-not-funded": (
        N_("This is not a programme that receives funding."),
        N_("Choose the national work base or the provincial work station."),
    ),
    # --- Documents (文书): issued PDFs, and the auditor's check of one ---
    "document-not-ready": (
        N_("This document cannot be issued yet: what it records has not happened."),
        N_(
            "Issue it once the fact it records is decided (the approval, the receipt, the "
            "rectification order, the approved grade list)."
        ),
    ),
    "document-not-found": (
        N_("No such document was issued here."),
        N_("Go back to the list of documents and choose one from there."),
    ),
    "document-no-longer-matches": (
        N_(
            "Regenerated from the recorded events, this document no longer matches the hash "
            "recorded when it was issued."
        ),
        N_("Do not rely on this document: report it to the administrator and the auditors."),
    ),
    "not-a-pdf": (
        N_("The file is not a PDF."),
        N_("Choose the PDF document you want to check, or paste its SHA-256."),
    ),
    "document-too-large": (
        N_("The file is larger than any document issued here."),
        N_("Check that this is the right file; a document issued here is a small PDF."),
    ),
    # --- Search and exports (检索与导出) ---
    "search-without-terms": (
        N_("There is nothing to search for in what you typed."),
        N_(
            "Type at least one Chinese character, letter or digit: part of a unit's name (two "
            "characters are enough), its whole credit code, or a word of the overview."
        ),
    ),
    "export-too-large": (
        N_("The export would hold more rows than one file may."),
        N_("Narrow the list (for example by call, status or jurisdiction) and export again."),
    ),
    "blank-field": (
        N_("A required field is empty."),
        N_("Fill in every required field and save again."),
    ),
    # --- Notification service: the inbox (站内通知) and notification preferences (通知设置) ---
    "inbox-item-not-found": (
        N_("This notice is not in your inbox."),
        N_("Go back to your inbox and open the notice from there."),
    ),
    "notice-not-issued": (
        N_("There is no such notice."),
        N_("Go back to your inbox and open the notice from there."),
    ),
    "unknown-recipient": (
        N_("This notice was not sent to you."),
        N_("Go back to your inbox: it lists every notice sent to you."),
    ),
    "notice-mandatory": (
        N_(
            "This kind of notice cannot be turned off: returns, rejections, overdue reports and "
            "rectification orders always reach you."
        ),
        N_("Untick that kind and save your preferences again."),
    ),
    "digest-reviewers-only": (
        N_("The daily digest is offered to reviewers only."),
        N_("Choose a mail for each notice and save your preferences again."),
    ),
}

#: By HTTP status, for a problem whose code the catalogue does not know, has none (a 401, a
#: bare 503, a proxy's 502) or is no problem document at all.
FALLBACKS: dict[int, tuple[str, str]] = {
    400: (
        N_("The request could not be understood."),
        N_("Reload the page and try again; if it keeps happening, report it to the administrator."),
    ),
    401: (
        N_("Your sign-in has expired or is not valid."),
        N_("Sign in again."),
    ),
    403: (
        N_("You do not have permission to do this."),
        N_("If your work requires it, ask the administrator to check the roles of your account."),
    ),
    404: (
        N_("The page or record was not found, or it is outside what you may see."),
        N_("Check the link, or go back to the list and open the record from there."),
    ),
    405: (
        N_("This action is not available here."),
        N_("Reload the page and use the buttons it offers."),
    ),
    409: (
        N_("This cannot be done while the record is in its current state."),
        N_("Reload the page to see the current status and the actions available now."),
    ),
    412: (
        N_("The record was changed after you opened it, so your change was not saved."),
        N_(
            "Reload the page to see the latest version; if your change is still needed, make it "
            "again and save."
        ),
    ),
    413: (
        N_("What you sent is too large for the service to accept."),
        N_("Shorten the text, or split it into several parts, and submit again."),
    ),
    415: (
        N_("This kind of content cannot be accepted."),
        N_(
            "Use the form or the upload button on the page, and send PDF, PNG, JPEG or DOCX files "
            "only."
        ),
    ),
    422: (
        N_("Some of the information entered is not valid."),
        N_("Correct the fields named and submit again."),
    ),
    428: (
        N_(
            "The service needs to know which version of the record you are changing, and the "
            "request did not say."
        ),
        N_("Reload the page and make the change again."),
    ),
    429: (
        N_("Too many requests were sent in a short time."),
        N_("Wait a minute, then try again."),
    ),
    500: (
        N_("Something went wrong in the service, and your request was not completed."),
        N_(
            "Reload the page to check what was saved, then try again; if it keeps happening, "
            "report it to the administrator."
        ),
    ),
    502: (
        N_("The service could not be reached."),
        N_("Try again in a few minutes; if it keeps happening, report it to the administrator."),
    ),
    503: (
        N_("The service is temporarily unavailable."),
        N_(
            "Try again in a few minutes; sending the same request again will not create a "
            "duplicate."
        ),
    ),
    504: (
        N_("The service took too long to answer."),
        N_("Reload the page to check whether your change was saved before trying again."),
    ),
}
#: For any other status.
GENERIC: tuple[str, str] = (
    N_("The request could not be completed."),
    N_("Try again; if it keeps happening, report it to the administrator."),
)

#: The sentences that name what a problem lists, appended to its message: the fields a 422
#: validation problem lists in `errors`, and the lists a refusal carries in its context.
FIELDS_TO_CORRECT = N_("Fields to correct: {items}.")
LISTED: tuple[tuple[str, str], ...] = (
    ("missing_fields", N_("Missing fields: {items}.")),
    ("missing_materials", N_("Missing materials: {items}.")),
    ("invalid_fields", N_("Fields with invalid entries: {items}.")),
    ("unknown_fields", N_("Fields the form does not have: {items}.")),
)
#: Appended to the next step when the service gave the request's id (`request_id`, a 500/503).
QUOTE_REFERENCE = N_("When you report it, quote this reference: {reference}.")

#: Where a validation error's location starts (FastAPI's `loc`): not part of the field's name.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
#: Sentences ending so are Chinese: the next one follows without a space.
_FULL_WIDTH_END = ("。", "！", "？", "；", "）", "”")


def messages() -> list[str]:
    """Every msgid this module translates, each once, in the order of the catalogue."""
    found = [text for entry in ERRORS.values() for text in entry]
    found += [text for entry in FALLBACKS.values() for text in entry]
    found += [*GENERIC, FIELDS_TO_CORRECT, *(sentence for _, sentence in LISTED)]
    found.append(QUOTE_REFERENCE)
    return list(dict.fromkeys(found))


def problem_code(problem: Mapping[str, Any] | None) -> str | None:
    """The problem's `code`, or the last segment of its `type` under `PROBLEM_TYPE_BASE`."""
    if not problem:
        return None
    code = problem.get("code")
    if isinstance(code, str) and code:
        return code
    type_ = problem.get("type")
    if isinstance(type_, str) and type_.startswith(PROBLEM_TYPE_BASE):
        segment = type_.removeprefix(PROBLEM_TYPE_BASE).strip("/").rsplit("/", 1)[-1]
        return segment or None
    return None


def explain(
    status: int,
    problem: Mapping[str, Any] | None,
    gettext: Callable[[str], str],
    *,
    label: Callable[[str], str] | None = None,
) -> Explanation:
    """What to tell the person about an error answer with `status` and body `problem` (None
    when the body was not a problem document), in the language of `gettext`.

    The entry of the problem's code, else the fallback of its status, else the generic one.
    The fields and materials the problem lists are named after the message; `label` turns a
    field's or a material's name (`credit_code`, `support_letter`) into the words the page
    uses for it (by default the name itself).
    """
    body: Mapping[str, Any] = problem or {}
    code = problem_code(body)
    found = ERRORS.get(code) if code is not None else None
    message, next_step = found or FALLBACKS.get(status, GENERIC)
    name = label or str
    sentences = [gettext(message)]
    if status == 422:
        fields = [name(field) for field in _invalid_fields(body.get("errors"))]
        if fields:
            sentences.append(_listing(gettext(FIELDS_TO_CORRECT), fields))
    for key, sentence in LISTED:
        items = [name(item) for item in _strings(body.get(key))]
        if items:
            sentences.append(_listing(gettext(sentence), items))
    steps = [gettext(next_step)]
    reference = body.get("request_id")
    if isinstance(reference, str) and reference:
        steps.append(gettext(QUOTE_REFERENCE).format(reference=reference))
    detail = body.get("detail")
    return Explanation(
        message=_joined(sentences),
        next_step=_joined(steps),
        code=code,
        status=status,
        detail=detail if isinstance(detail, str) and detail else None,
    )


def _invalid_fields(errors: object) -> Iterator[str]:
    """The fields a validation problem's `errors` name (`["body", "contacts", 0, "email"]` ->
    `contacts.0.email`), each once."""
    if not isinstance(errors, list):
        return
    seen: set[str] = set()
    for error in errors:
        # The services say `location`; the console's own checks (web/failures.py) `loc`.
        location = _location(error)
        if not isinstance(location, list | tuple):
            continue
        parts = [str(part) for part in location]
        if parts and parts[0] in _LOCATIONS:
            parts = parts[1:]
        field = ".".join(parts)
        if field and field not in seen:
            seen.add(field)
            yield field


def _location(error: object) -> object:
    if not isinstance(error, Mapping):
        return None
    return error.get("location", error.get("loc"))


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, list | tuple):
        return list(dict.fromkeys(str(item) for item in value if item not in (None, "")))
    return []


def _cjk(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" for char in text)


def _listing(sentence: str, items: list[str]) -> str:
    """`sentence` with `{items}` filled in, enumerated as its language does (、 in Chinese)."""
    return sentence.format(items=("、" if _cjk(sentence) else ", ").join(items))


def _joined(sentences: list[str]) -> str:
    text = ""
    for sentence in sentences:
        space = "" if not text or text.endswith(_FULL_WIDTH_END) else " "
        text += space + sentence
    return text
