"""The FastAPI app factory every service uses, so all four share one edge.

It installs RFC 9457 problem handlers, request and correlation ids (taken from the caller or
made here, echoed back and bound into every log line), request metrics, the token verifier,
and the operational routes: `/healthz`, `/readyz` and `/metrics` (`/asyncapi.json` is the
messaging edge's, `shared/edge.py`).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import HS256Verifier, JwksVerifier, TokenVerifier
from shared.edges import checked_path_parameters, install_body_limit, install_openapi
from shared.logging import get_logger
from shared.metrics import CONTENT_TYPE, Metrics
from shared.problems import HTTPProblem, install_problem_handlers
from shared.settings import ServiceSettings

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"
READINESS_TIMEOUT_SECONDS = 5.0

Readiness = Callable[[], Awaitable[dict[str, bool]]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # ids from callers end up in logs and headers

log = get_logger(__name__)


def _caller_id(value: str | None) -> str | None:
    return value if value is not None and _SAFE_ID.fullmatch(value) else None


class RequestContextMiddleware:
    """Request and correlation ids on the request, the response and every log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _caller_id(headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        correlation_id = _caller_id(headers.get(CORRELATION_ID_HEADER)) or request_id
        scope.setdefault("state", {}).update(request_id=request_id, correlation_id=correlation_id)
        status = 500

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers[REQUEST_ID_HEADER] = request_id
                response_headers[CORRELATION_ID_HEADER] = correlation_id
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(
            request_id=request_id, correlation_id=correlation_id
        ):
            try:
                await self.app(scope, receive, send_with_ids)
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self.metrics.http_requests_total.labels(method, route, str(status)).inc()
                self.metrics.http_request_duration_seconds.labels(method, route).observe(elapsed)
                log.info(
                    "http.request",
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


def token_verifier(settings: ServiceSettings) -> TokenVerifier:
    """JWKS when an OIDC provider is configured (always in production), else HS256."""
    if settings.oidc_jwks_url:
        return JwksVerifier(settings.oidc_jwks_url, settings.jwt_audience, settings.jwt_issuer)
    return HS256Verifier(
        settings.jwt_secret.get_secret_value(), settings.jwt_audience, settings.jwt_issuer
    )


def _operations(
    title: str,
    version: str,
    metrics: Metrics,
    readiness: Readiness,
    refresh_metrics: Callable[[], Awaitable[None]] | None,
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency (store, NATS) is reachable")
    async def readyz() -> dict[str, Any]:
        try:
            checks = await asyncio.wait_for(readiness(), READINESS_TIMEOUT_SECONDS)
        except Exception:  # a check that fails or hangs means not ready, never a 500
            log.exception("readiness.check_failed")
            checks = {"readiness": False}
        failing = sorted(name for name, ok in checks.items() if not ok)
        if failing:
            raise HTTPProblem(
                503,
                "Service Unavailable",
                f"Not ready: {', '.join(failing)}.",
                checks=checks,
                failing=failing,
            )
        return {"status": "ready", "checks": checks}

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        if refresh_metrics is not None:
            try:  # bounded as readiness is: a scrape answers even while the bus is electing
                await asyncio.wait_for(refresh_metrics(), READINESS_TIMEOUT_SECONDS)
            except Exception:  # stale gauges are better than no metrics
                log.exception("metrics.refresh_failed")
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return router


def create_app(
    *,
    title: str,
    settings: ServiceSettings,
    metrics: Metrics,
    routers: Sequence[APIRouter] = (),
    lifespan: Lifespan | None = None,
    readiness: Readiness,
    version: str = "0.1.0",
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """A service's FastAPI app; `main.py` supplies the routers, lifespan and readiness checks."""
    app = FastAPI(
        title=title,
        version=version,
        lifespan=lifespan,
        dependencies=[Depends(checked_path_parameters)],  # before any route reads one
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.token_verifier = token_verifier(settings)
    install_problem_handlers(app)
    install_body_limit(app, settings.max_json_bytes)
    # Added last, so outermost: even a 500 problem carries the ids and is counted.
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.include_router(_operations(title, version, metrics, readiness, refresh_metrics))
    for router in routers:
        app.include_router(router)
    install_openapi(app)
    return app
