"""The review service's use cases: every command and query it offers, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.document_desk import DocumentDesk
from shared.policy import PolicyBook
from shared.runtime import Kernel
from shared.usecase import Executor

from ..domain.policy import DesignationPolicy, WorkstationPolicy
from ..projections.documents import issued_documents
from .certificates import CertificateUseCases
from .documents import KINDS
from .rankings import RankingUseCases
from .renewals import RenewalUseCases
from .reviews import ReviewUseCases


@dataclass
class ReviewServiceUseCases:
    executor: Executor
    reviews: ReviewUseCases
    rankings: RankingUseCases
    renewals: RenewalUseCases
    certificates: CertificateUseCases
    documents: DocumentDesk

    @classmethod
    def build(cls, kernel: Kernel) -> ReviewServiceUseCases:
        executor = kernel.executor
        policy = designation_policy(kernel.policies)
        rankings = RankingUseCases(executor)
        certificates = CertificateUseCases(executor)
        return cls(
            executor=executor,
            reviews=ReviewUseCases(
                executor, rankings, certificates, policy, workstation_policy(kernel.policies)
            ),
            rankings=rankings,
            renewals=RenewalUseCases(executor, certificates, policy),
            certificates=certificates,
            documents=DocumentDesk(
                executor,
                executor.registry,
                issued_documents,
                {kind.name: kind for kind in KINDS},
                kernel.settings.console_public_url,
            ),
        )


def designation_policy(policies: PolicyBook) -> Callable[[date], DesignationPolicy]:
    """The [designation] section in force on a day, as the domain's policy object."""

    def in_force(on: date) -> DesignationPolicy:
        document = policies.in_force(on)
        section = document.section("designation")
        return DesignationPolicy(
            version=document.version,
            term_years=int(section["term_years"]),
            plaque_name=str(section["plaque_name"]),
        )

    return in_force


def workstation_policy(
    policies: PolicyBook,
) -> Callable[[str, date], WorkstationPolicy | None]:
    """A province's own [workstation] section in force on a day (Notice §5(3)); None when the
    province has no policy by then or configures no `certificate_series` in it."""

    def in_force(province: str, on: date) -> WorkstationPolicy | None:
        document = policies.provincial(province, on)
        if document is None or not document.has("workstation"):
            return None
        series = document.section("workstation").get("certificate_series")
        if not isinstance(series, str) or not series.strip():
            return None
        return WorkstationPolicy(version=document.version, certificate_series=series.strip())

    return in_force
