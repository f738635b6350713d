"""What other services rely on: an example of every event, fields named as docs/contracts.md."""

from __future__ import annotations

from ..messaging.contracts import EXAMPLES, registry

PUBLISHED = {
    "ApplicationSubmitted": {
        "application_id", "case_id", "call_id", "call_opened_on", "programme", "unit_id",
        "unit_name", "credit_code", "category", "level", "province", "jurisdiction", "route",
        "revision", "form_hash", "files", "linked_case_id",
    },
    "ApplicationWithdrawn": {"application_id", "case_id", "reason"},
    "RenewalRequested": {
        "renewal_id", "case_id", "base_id", "unit_id", "unit_name", "province", "jurisdiction",
        "term_end", "statement",
    },
    "RenewalRequestWithdrawn": {"renewal_id", "case_id", "base_id"},
    "RenewalRequestResubmitted": {"renewal_id", "case_id", "base_id", "statement"},
}  # fmt: skip
PUBLISHED["ApplicationResubmitted"] = PUBLISHED["ApplicationSubmitted"]


def test_every_event_in_the_registry_has_exactly_one_example() -> None:
    names = [type(example).__name__ for example in EXAMPLES]
    assert sorted(names) == registry.names


def test_every_example_survives_the_round_trip_through_its_published_form() -> None:
    for example in EXAMPLES:
        data = registry.encode(example)
        assert registry.decode(registry.type_of(example), data) == example


def test_integration_events_carry_the_fields_other_services_read() -> None:
    by_name = {type(example).__name__: registry.encode(example) for example in EXAMPLES}
    for name, fields in PUBLISHED.items():
        assert fields <= set(by_name[name]), name
    files = by_name["ApplicationSubmitted"]["files"]
    assert {"slot", "name", "media_type", "size", "sha256"} <= set(files[0])
