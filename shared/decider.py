"""The decider pattern: decide(command, state) -> events, evolve(state, event) -> state.

Every aggregate of every service is written as a `Decider`. The kernel's use-case loop
(`shared.usecase`) folds a stream with `evolve`, asks `decide`, and appends the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")


@dataclass(frozen=True)
class Decider(Generic[C, S, E]):
    """The three pure functions that are an aggregate's whole life."""

    decide: Callable[[C, S], Sequence[E]]
    evolve: Callable[[S, E], S]
    initial_state: Callable[[], S]

    def fold(self, events: Iterable[E], state: S | None = None) -> S:
        current = self.initial_state() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current


class DomainError(Exception):
    """A command refused by the rules. `code` is stable and appears in problem details."""

    code: str = "domain-error"
    title: str = "Command refused"
    status: int = 409

    def __init__(self, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"
    status = 404


class InvalidCommand(DomainError):
    """The command is well-formed but its content breaks a rule (HTTP 422)."""

    code = "invalid-command"
    title = "Invalid command"
    status = 422


class ConcurrencyConflict(DomainError):
    """The stream moved on since the caller read it (a stale expected version).

    `raced`: not the caller's stale version but two transactions appending to one stream at
    once (PostgreSQL's `UNIQUE(stream_id, version)` decided between them); deciding again on
    fresh state is then always right (`shared.idempotency.once` does, a few times).
    """

    code = "concurrency-conflict"
    title = "The record was changed by someone else"
    status = 409

    def __init__(
        self, stream_id: str, expected_version: int, actual_version: int, *, raced: bool = False
    ) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual_version}, not {expected_version}",
            stream_id=stream_id,
            expected_version=expected_version,
            actual_version=actual_version,
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        self.raced = raced
