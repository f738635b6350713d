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

T = TypeVar("T")

DEFAULT_WAIT = 30.0  # seconds: far above a healthy bus's latency, short enough to fail fast


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
    """One service's HTTP API, called as whichever person is named on each call."""

    base_url: str
    secret: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))
    _tokens: dict[Person, str] = field(default_factory=dict, repr=False)

    def headers(self, person: Person | None, command: bool = False) -> dict[str, str]:
        headers = {}
        if person is not None:
            if person not in self._tokens:
                self._tokens[person] = person.token(self.secret)
            headers["Authorization"] = f"Bearer {self._tokens[person]}"
        if command:
            headers["Idempotency-Key"] = new_id()
        return headers

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
        response = self.http.request(
            method,
            url,
            json=json,
            params=params,
            files=files,
            data=data,
            headers=self.headers(person, command=method != "GET"),
        )
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
