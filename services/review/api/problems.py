"""What the OpenAPI document says about this service's refusals: each route lists the problem
types (RFC 9457) a web client must be ready for, with the precondition each one names."""

from __future__ import annotations

from typing import Any

from shared.decider import DomainError
from shared.problems import PROBLEM_MEDIA_TYPE, problem_type

#: The problem document every refusal is (`code` repeats the last segment of `type`).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
    },
}

#: Refusals at the edge, before any rule: their code and what they mean.
ROLE_REQUIRED = ("role-required", "Your token lacks the role that decides this")
VALIDATION = ("invalid-request", "The body or a parameter is malformed (unknown fields too)")

Refusal = type[DomainError] | tuple[str, str]


def problems(**by_status: list[Refusal]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: `problems(s403=[...], s409=[...])`, each refusal a domain
    error class or a (code, meaning) pair."""
    responses: dict[int | str, dict[str, Any]] = {}
    for key, refusals in by_status.items():
        status = int(key.removeprefix("s"))
        lines = [f"- `{problem_type(code)}`: {meaning}" for code, meaning in map(_named, refusals)]
        responses[status] = {
            "description": "A problem document (RFC 9457), one of:\n\n" + "\n".join(lines),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
    return responses


def _named(refusal: Refusal) -> tuple[str, str]:
    if isinstance(refusal, tuple):
        return refusal
    return refusal.code, refusal.title
