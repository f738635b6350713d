"""The four services, called over HTTP as the signed-in person — as any web client would.

Every call carries the person's bearer token; a command carries the `Idempotency-Key` its form
was rendered with, so a form sent twice (a double click, a reload after a lost answer) is
answered from the first result and applied once. A refusal raises `ServiceProblem` with the
service's RFC 9457 problem; an unreachable service is a 503 problem of our own making.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

import httpx

from shared.envelope import new_id
from shared.http import CORRELATION_ID_HEADER

from .settings import NOTIFICATION, SERVICES, WebSettings

Json = Any


#: A path the console asks a service for: segments of ids and names (percent-encoded where a
#: page quoted one: a certificate number of a Chinese series), nothing that would change which
#: resource (`..`) or add a query (`?`, `#`) when an id is spliced in.
_SAFE_PATH = re.compile(r"^(/([A-Za-z0-9_.~:-]|%[0-9A-Fa-f]{2})+)+/?$|^/$")
_SAFE_PATH_DOTS = re.compile(r"(^|/)\.\.?(/|$)")


class ServiceProblem(Exception):
    """A service refused or failed a call: `status` and its problem detail (None: no body)."""

    def __init__(self, service: str, status: int, problem: Mapping[str, Any] | None) -> None:
        self.service, self.status, self.problem = service, status, problem
        said = (problem or {}).get("detail") or (problem or {}).get("title") or ""
        super().__init__(f"{service} answered {status}: {said}")

    @property
    def code(self) -> str | None:
        code = (self.problem or {}).get("code")
        return str(code) if code else None


@dataclass(frozen=True)
class Download:
    """A file a service answered: its bytes and what it says of them."""

    content: bytes
    media_type: str
    filename: str | None


def _unexpected(service: str, detail: str) -> ServiceProblem:
    return ServiceProblem(service, 502, {"title": "Bad gateway", "detail": detail})


def _json(service: str, response: httpx.Response) -> Json:
    try:
        return response.json()
    except ValueError:  # a proxy's HTML page, or a body cut short
        raise _unexpected(service, f"{response.request.url.path}: not JSON") from None


def _filename(disposition: str) -> str | None:
    """The file name a Content-Disposition header gives: `filename*=UTF-8''…` (RFC 6266: how
    a Chinese name comes) before a plain `filename`, quoted or not."""
    message = Message()
    message["content-disposition"] = disposition
    found = message.get_param("filename", header="content-disposition")
    name = collapse_rfc2231_value(found) if found else None
    return name if isinstance(name, str) and name else None


class Backend:
    """The services' HTTP APIs; one connection pool for the console's life."""

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient | None = None) -> None:
        self.urls = {service: settings.service_url(service) for service in SERVICES}
        if settings.notification_url:
            self.urls[NOTIFICATION] = settings.service_url(NOTIFICATION)
        self.http = http or httpx.AsyncClient(timeout=settings.service_timeout)

    async def close(self) -> None:
        await self.http.aclose()

    async def _send(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        key: str | None = None,
        **send: Any,
    ) -> httpx.Response:
        if not _SAFE_PATH.match(path) or _SAFE_PATH_DOTS.search(path):
            raise ServiceProblem(service, 404, {"title": "Not found", "code": "not-found"})
        if service not in self.urls:  # an optional service this console is not given
            problem = {"title": "Service not configured", "code": "service-not-configured"}
            raise ServiceProblem(service, 503, problem)
        headers = {CORRELATION_ID_HEADER: new_id()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if method != "GET":
            headers["Idempotency-Key"] = key or new_id()
        try:
            response = await self.http.request(
                method, f"{self.urls[service]}{path}", headers=headers, **send
            )
        except httpx.TransportError as error:
            problem = {"title": "Service unavailable", "code": "service-unreachable"}
            raise ServiceProblem(service, 503, problem | {"detail": str(error)}) from error
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise ServiceProblem(
                service, response.status_code, body if isinstance(body, dict) else None
            )
        if not 200 <= response.status_code < 300:  # a redirect is no answer: nothing was done
            raise _unexpected(service, f"{method} {path} answered {response.status_code}")
        return response

    async def get(
        self, service: str, path: str, token: str | None, **params: str | int | None
    ) -> Json:
        query = {k: v for k, v in params.items() if v is not None and v != ""}
        response = await self._send(service, "GET", path, token, params=query)
        return _json(service, response)

    async def find(
        self, service: str, path: str, token: str | None, **params: str | int | None
    ) -> Json | None:
        """GET, or None for a 404: not there (yet), or not for this person to see."""
        try:
            return await self.get(service, path, token, **params)
        except ServiceProblem as problem:
            if problem.status == 404:
                return None
            raise

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        key: str | None = None,
        json: Json = None,
        data: Mapping[str, str] | None = None,
        files: Any = None,
    ) -> Json:
        """A command: POST, PATCH, PUT or DELETE with its idempotency key."""
        send: dict[str, Any] = {}
        if files is not None or data is not None:
            send.update(data=data, files=files)
        else:
            send["json"] = {} if json is None else json
        response = await self._send(service, method, path, token, key=key, **send)
        if not response.content:
            return None
        return (
            _json(service, response) if "json" in response.headers.get("content-type", "") else None
        )

    async def download(self, service: str, path: str, token: str | None, **params: str) -> Download:
        response = await self._send(service, "GET", path, token, params=params)
        filename = _filename(response.headers.get("content-disposition", ""))
        return Download(
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
            filename,
        )
