"""Speaking to one running service over HTTP as a person: signed calls, problems, bounded waits.

Every call carries the person's development token; a failed call raises `CallFailed` with
the RFC 9457 problem the service answered. `eventually` polls the read side until an effect
that crosses the bus shows, and says what never came if it does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx

from shared.auth import Role, issue_development_token
from shared.envelope import new_id
from shared.http import CORRELATION_ID_HEADER

T = TypeVar("T")

DEFAULT_WAIT = 30.0  # seconds: far above a healthy bus's latency, short enough to fail fast
#: Answers that say "not now" rather than "no": the call is sent again, with the same keys.
UNAVAILABLE = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Person:
    """Someone who acts: their account, name, roles, organisation and jurisdictions."""

    user_id: str
    name: str
    roles: tuple[Role, ...]
    org: str | None = None
    jurisdictions: tuple[str, ...] = ()

    def token(self, secret: str) -> str:
        return issue_development_token(
            secret,
            self.user_id,
            self.roles,
            org=self.org,
            jurisdictions=self.jurisdictions,
            ttl=timedelta(hours=12),
        )


class CallFailed(RuntimeError):
    """A service refused or failed a call; `problem` is its RFC 9457 problem detail."""

    def __init__(self, method: str, url: str, status: int, problem: Mapping[str, Any] | str):
        self.method, self.url, self.status, self.problem = method, url, status, problem
        if isinstance(problem, Mapping):
            code = f" [{problem['code']}]" if problem.get("code") else ""
            said = f"{problem.get('title', '')}{code}: {problem.get('detail', '')}"
        else:
            said = problem[:500]
        super().__init__(f"{method} {url} answered {status} {said}")

    @property
    def code(self) -> str | None:
        return str(self.problem.get("code")) if isinstance(self.problem, Mapping) else None


class NotReached(RuntimeError):
    """An awaited effect did not show in time."""


@dataclass(frozen=True)
class Sent:
    """One command as its caller saw it end: where it went, the `Idempotency-Key` and
    correlation id every attempt carried, the final status (None: never answered) and how
    many attempts it took."""

    service: str
    method: str
    path: str
    idempotency_key: str
    correlation_id: str
    status: int | None
    attempts: int


def eventually(
    probe: Callable[[], T | None],
    what: str,
    timeout: float = DEFAULT_WAIT,
    interval: float = 0.05,
) -> T:
    """`probe()` until it answers something other than None, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise NotReached(f"not seen within {timeout:.0f}s: {what}")
        time.sleep(interval)  # polling the read side of another process
        interval = min(interval * 1.5, 0.5)


@dataclass
class ServiceClient:
    """One service's HTTP API, called as whichever person is named on each call.

    A web client's manners: every command carries a fresh `Idempotency-Key` and correlation
    id; with `retry_for` > 0 a call whose connection failed, or that was answered 502, 503 or
    504, is sent again — the very same request, keys and bytes — until it is answered or
    `retry_for` seconds have passed, so a command the service committed before it went away
    is answered from its first result, never applied twice. `journal`, if set, is told how
    each command ended.
    """

    base_url: str
    secret: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))
    retry_for: float = 0.0
    journal: Callable[[Sent], None] | None = None
    name: str = ""
    _tokens: dict[Person, str] = field(default_factory=dict, repr=False)

    def headers(self, person: Person | None, command: bool = False) -> dict[str, str]:
        headers = {}
        if person is not None:
            if person not in self._tokens:
                self._tokens[person] = person.token(self.secret)
            headers["Authorization"] = f"Bearer {self._tokens[person]}"
        if command:
            headers["Idempotency-Key"] = new_id()
            headers[CORRELATION_ID_HEADER] = new_id()
        return headers

    def send(self, request: httpx.Request) -> httpx.Response:
        """`request`, sent again while unanswered or unavailable, within `retry_for`."""
        request.read()  # the body's bytes fixed once (a multipart boundary too), for every try
        deadline = time.monotonic() + self.retry_for
        attempts, pause = 0, 0.05
        response: httpx.Response | None = None
        try:
            while True:
                attempts += 1
                try:
                    response = self.http.send(request)
                    if response.status_code not in UNAVAILABLE:
                        return response
                except httpx.TransportError:
                    response = None
                    if time.monotonic() >= deadline:
                        raise
                if time.monotonic() >= deadline:
                    assert response is not None
                    return response
                time.sleep(pause)  # backing off before the next try, as a client should
                pause = min(pause * 2, 1.0)
        finally:
            if self.journal is not None and request.method != "GET":
                self.journal(
                    Sent(
                        self.name or self.base_url,
                        request.method,
                        request.url.path,
                        request.headers.get("Idempotency-Key", ""),
                        request.headers.get(CORRELATION_ID_HEADER, ""),
                        None if response is None else response.status_code,
                        attempts,
                    )
                )

    def call(
        self,
        method: str,
        path: str,
        person: Person | None,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        files: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        url = f"{self.base_url}{path}"
        request = self.http.build_request(
            method,
            url,
            json=json,
            params=params,
            files=files,
            data=data,
            headers=self.headers(person, command=method != "GET"),
        )
        response = self.send(request)
        if response.status_code >= 400:
            try:
                problem: Mapping[str, Any] | str = response.json()
            except ValueError:
                problem = response.text
            raise CallFailed(method, url, response.status_code, problem)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def get(self, path: str, person: Person | None, **params: str | int) -> Any:
        return self.call("GET", path, person, params=params or None)

    def post(self, path: str, person: Person, body: Any = None) -> Any:
        return self.call("POST", path, person, json=body if body is not None else {})

    def pages(self, path: str, person: Person | None, **params: str | int) -> Iterator[Any]:
        """Each page of a paged route in turn, whole (an object route's list sits beside its
        other fields), following `next_cursor` until it is null."""
        query: dict[str, str | int] = {"limit": 100, **params}
        while True:
            page = self.get(path, person, **query)
            yield page
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def every(
        self, path: str, person: Person | None, items: str = "items", **params: str | int
    ) -> list[Any]:
        """Every item of a paged route, page after page, in its order."""
        return [item for page in self.pages(path, person, **params) for item in page[items]]

    def find(self, path: str, person: Person | None, **params: str | int) -> Any:
        """GET, or None while the object is not (yet) there: 404."""
        try:
            return self.get(path, person, **params)
        except CallFailed as failed:
            if failed.status == 404:
                return None
            raise
