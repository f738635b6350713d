"""The web console: the composition root. `create_app()` is what uvicorn serves.

`python -m shared.serve web.main:create_app` (or `haizhi up`, which starts it beside the four
services). The console is a backend-for-frontend: it renders pages and calls the four
services' HTTP APIs as the signed-in person; it holds no database and never speaks to NATS.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.edges import BodyTooLarge
from shared.logging import configure_logging, get_logger

from .backend import Backend
from .failures import install_failure_pages, session_too_large, unexpected_failure
from .i18n import Translations
from .pages import PAGES
from .session import Cookies, SessionTooLarge
from .settings import WebSettings
from .visit import cst, yuan

HERE = Path(__file__).parent
log = get_logger(__name__)
#: A form's body (url-encoded) at most; an upload's (multipart) at most: the services' own
#: attachment limit (20 MiB) and the form's other fields.
MAX_FORM_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = 21 * 1024 * 1024
#: Scripts and styles only from the console itself; no frames, no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class FormBodyLimit:
    """A request body over its limit is refused (413) when its first part is read: by its
    `Content-Length`, or as it streams in. Raised inside the app, so the failure pages show it
    in the person's language (a form's page keeps its message)."""

    def __init__(self, app: ASGIApp, form_bytes: int, upload_bytes: int) -> None:
        self.app, self.form_bytes, self.upload_bytes = app, form_bytes, upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.upload_bytes if multipart else self.form_bytes
        declared = headers.get("content-length", "")
        received = int(declared) if declared.isascii() and declared.isdigit() else 0

        async def counted() -> Message:
            nonlocal received
            if received > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request" and not declared:
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["cst"] = cst
    environment.filters["yuan"] = yuan
    return environment


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    configure_logging(json=None)
    cookies = Cookies(
        settings.session_secret.get_secret_value(),
        max_age=settings.session_hours * 3600,
        secure=settings.secure_cookies,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.backend = Backend(settings)
        try:
            yield
        finally:
            await app.state.backend.close()

    app = FastAPI(
        title="HaiZhi Cases · 海智计划工作基地 · console",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.translations = Translations.load()
    app.state.templates = templates()
    app.state.cookies = cookies
    app.state.nav = tuple(item for page in PAGES for item in page.NAV)

    # Inside the session layer: a body too large is refused as it streams in, as a page.
    app.add_middleware(FormBodyLimit, form_bytes=MAX_FORM_BYTES, upload_bytes=MAX_UPLOAD_BYTES)

    @app.middleware("http")
    async def session_cookie(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        session = cookies.session(request)
        request.state.session = session
        try:
            response = await call_next(request)
        except Exception:  # here, not in ServerErrorMiddleware: the session and headers hold
            log.exception("page_failed", path=request.url.path)
            response = await unexpected_failure(request)
        # The page's time in the console, the services' answers included (bench/console.py).
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"page;dur={elapsed_ms:.1f}"
        if session.changed or session.flashes:
            try:
                cookies.save(response, session)
            except SessionTooLarge as error:
                log.error("session_too_large", bytes=error.size, path=request.url.path)
                response = session_too_large(request)
                cookies.save(response, session)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):  # a person's pages: never cached
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    install_failure_pages(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    for page in PAGES:
        app.include_router(page.router)
    return app
