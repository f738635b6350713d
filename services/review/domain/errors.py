"""Named refusals of the review service; each `code` is stable and shown in problem details.

A refusal is named for the rule it enforces (`LevelMismatch`, as shared's `NotFound`), hence
no `Error` suffix.
"""

from __future__ import annotations

from shared.decider import DomainError, InvalidCommand, NotFound

# --- not found ----------------------------------------------------------------------------


class ReviewNotFound(NotFound):
    code = "review-not-found"
    title = "No review of this application"


class RankingNotFound(NotFound):
    code = "ranking-not-found"
    title = "No candidate in this call's recommendation yet"


class RenewalNotFound(NotFound):
    code = "renewal-not-found"
    title = "No such renewal request"


# --- lifecycle ----------------------------------------------------------------------------


class ReviewAlreadyOpened(DomainError):
    code = "review-already-opened"
    title = "This review already belongs to another application"


class NotAwaitingResubmission(DomainError):
    code = "not-awaiting-resubmission"
    title = "The application was not returned for revision"


class ReviewNotInProgress(DomainError):
    code = "review-not-in-progress"
    title = "The review is not at any level now"


class ReviewConcluded(DomainError):
    code = "review-concluded"
    title = "The review has concluded"


class RenewalNotInProgress(DomainError):
    code = "renewal-not-in-progress"
    title = "The renewal request is not at any level now"


class RenewalConcluded(DomainError):
    code = "renewal-concluded"
    title = "The renewal request has concluded"


class RenewalNotAwaitingResubmission(DomainError):
    code = "renewal-not-awaiting-resubmission"
    title = "The renewal request was not returned to the unit"


class RenewalAlreadyReturned(DomainError):
    code = "renewal-already-returned"
    title = "The province returns a renewal request for completeness once; pass it on now"


class RenewalNotAwaitingAssessment(DomainError):
    code = "renewal-not-awaiting-assessment"
    title = "No renewal assessment was requested for this renewal"


# --- levels and decisions ---------------------------------------------------------------


class LevelMismatch(DomainError):
    """The decision was meant for a level the case is not at (a stale or wrong screen)."""

    code = "level-mismatch"
    title = "The case is not at this level"


class DecisionNotAllowedAtLevel(InvalidCommand):
    code = "decision-not-allowed-at-level"
    title = "This decision is not one this level takes"


class NoPrefectureOnRoute(InvalidCommand):
    code = "no-prefecture-on-route"
    title = "The application came directly; there is no prefecture to return it to"


class ReasonsRequired(InvalidCommand):
    code = "reasons-required"
    title = "A return, rejection or non-recommendation needs reasons"


class InvalidScore(InvalidCommand):
    code = "invalid-score"
    title = "A score is an integer 0..100 for a named criterion"


class InvalidRank(InvalidCommand):
    code = "invalid-rank"
    title = "A rank is a positive integer"


class MeetingRecordIncomplete(InvalidCommand):
    code = "meeting-record-incomplete"
    title = "A leading-group decision needs its meeting reference and members present"


class NotThisProgramme(DomainError):
    code = "not-this-programme"
    title = "This decision belongs to another programme's chain"


class WorkstationSeriesMissing(DomainError):
    """Notice §5(3): a station is the province's; without its series it cannot be certified."""

    code = "workstation-series-missing"
    title = "The province has no work-station certificate series in its policy"


class ReliedOnStaleVersion(DomainError):
    code = "relied-on-stale-version"
    title = "The decision relied on a version that is not the one submitted"


# --- fairness -----------------------------------------------------------------------------


class ConflictOfInterest(DomainError):
    code = "conflict-of-interest"
    title = "The reviewer has a conflict of interest"
    status = 403


class ReviewerFromApplicantUnit(ConflictOfInterest):
    code = "reviewer-from-applicant-unit"
    title = "The reviewer belongs to the applicant unit"


class ReviewerRecused(ConflictOfInterest):
    code = "reviewer-recused"
    title = "The reviewer declared a conflict of interest"


class ConflictDeclarationMissing(DomainError):
    code = "conflict-declaration-missing"
    title = "Declare no conflict of interest first"
    status = 403


class SeparationOfDutiesViolated(DomainError):
    code = "separation-of-duties-violated"
    title = "Whoever decided at the previous level cannot decide at this one"
    status = 403


# --- the recommendation list --------------------------------------------------------------


class CandidateFromOtherRanking(InvalidCommand):
    code = "candidate-from-other-ranking"
    title = "The candidate belongs to another call or province"


class NoCandidates(DomainError):
    code = "no-candidates"
    title = "There is no candidate to rank"


class UnknownCandidate(InvalidCommand):
    code = "unknown-candidate"
    title = "The list names an application that is not a candidate"


class DuplicateCandidate(InvalidCommand):
    code = "duplicate-candidate"
    title = "The list names an application twice"


class InvalidQuota(InvalidCommand):
    code = "invalid-quota"
    title = "A quota is a positive integer"


class QuotaExceeded(InvalidCommand):
    code = "quota-exceeded"
    title = "More applications recommended than the quota allows"


class RecommendationListFinal(DomainError):
    code = "recommendation-list-final"
    title = "The recommendation list was already submitted"
