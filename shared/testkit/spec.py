"""Given past events, when a command, then these events — or this error.

spec(base_decider).given(Designated(...)).when(FileReport(...)).then(ReportFiled(...))
spec(base_decider).given().when(FileReport(...)).raises(BaseNotActive)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shared.decider import C, Decider, DomainError, E, S

_T = TypeVar("_T", bound=DomainError)


@dataclass
class Spec(Generic[C, S, E]):
    decider: Decider[C, S, E]
    history: list[E] = field(default_factory=list)
    command: C | None = None

    def given(self, *events: E) -> Spec[C, S, E]:
        self.history = list(events)
        return self

    def when(self, command: C) -> Spec[C, S, E]:
        self.command = command
        return self

    def state(self) -> S:
        return self.decider.fold(self.history)

    def decided(self) -> Sequence[E]:
        assert self.command is not None, "call .when(command) first"
        return self.decider.decide(self.command, self.state())

    def then(self, *expected: E) -> Sequence[E]:
        produced = list(self.decided())
        assert produced == list(expected), f"\nexpected {list(expected)!r}\n     got {produced!r}"
        # evolve must accept what decide produced: fold it to prove it.
        self.decider.fold(produced, self.state())
        return produced

    def raises(self, error: type[_T]) -> _T:
        try:
            produced = self.decided()
        except error as refused:
            return refused
        raise AssertionError(f"expected {error.__name__}, got events {produced!r}")


def spec(decider: Decider[Any, Any, Any]) -> Spec[Any, Any, Any]:
    return Spec(decider)
