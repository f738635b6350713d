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

from shared.logging import configure_logging

from .backend import Backend
from .failures import install_failure_pages
from .i18n import Translations
from .pages import PAGES
from .session import Cookies
from .settings import WebSettings
from .visit import cst, yuan

HERE = Path(__file__).parent
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

    @app.middleware("http")
    async def session_cookie(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        session = cookies.session(request)
        request.state.session = session
        response = await call_next(request)
        # The page's time in the console, the services' answers included (bench/console.py).
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"page;dur={elapsed_ms:.1f}"
        if session.changed or session.flashes:
            cookies.save(response, session)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
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
