"""Composition root of the review service: the only place that builds settings and the app.

uvicorn --factory services.review.main:create_app
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared import issuance
from shared.runtime import ServiceSpec, build_app
from shared.settings import ServiceSettings

from .api import certificates, documents, exports, queries, rankings, renewals, reviews
from .domain import certificate, ranking, renewal_review, review
from .messaging.contracts import CONSUMES, EXAMPLES, SERVICE, registry
from .messaging.subscriptions import edge, subscriptions
from .projections import projections
from .usecases import ReviewServiceUseCases


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        registry=registry,
        projections=projections(),
        migrations=Path(__file__).parent / "migrations" / "versions",
        routers=[
            queries.router,
            reviews.router,
            rankings.router,
            renewals.router,
            certificates.router,
            documents.router,
            exports.router,
        ],
        usecases=ReviewServiceUseCases.build,
        messaging=edge,
        subscriptions=subscriptions,
        examples=EXAMPLES,
        consumes=CONSUMES,
        # stream-id prefix -> decider, for the auditor's case-as-of view
        deciders={
            "review": review.decider,
            "ranking": ranking.decider,
            "renewal": renewal_review.decider,
            "base": certificate.standing,
            "certificates": certificate.register,
            issuance.STREAM_PREFIX: issuance.decider,
        },
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(settings or ServiceSettings(service=SERVICE), spec())
