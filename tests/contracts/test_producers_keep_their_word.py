"""What producers promise: an example of every event, round-tripping through its registry;
every consumed event exists with an example; docs/contracts.md matches the examples and the
consumers' declarations."""

from __future__ import annotations

import pytest

from .contracts_doc import read_contracts
from .world import SPECS, consumed, example_of

CONTRACTS = read_contracts()


@pytest.mark.parametrize("producer", sorted(SPECS))
def test_every_event_has_one_example_that_round_trips_through_its_registry(
    producer: str,
) -> None:
    spec = SPECS[producer]
    names = [type(example).__name__ for example in spec.examples]
    assert sorted(names) == spec.registry.names, "one example per registered event"
    for example in spec.examples:
        data = spec.registry.encode(example)
        type_ = spec.registry.type_of(example)
        assert type_.startswith(f"haizhi.{producer}.{type(example).__name__}.v")
        assert spec.registry.decode(type_, data) == example


@pytest.mark.parametrize(
    ("consumer_name", "producer", "event"),
    consumed(),
    ids=[f"{c}<-{p}.{e}" for c, p, e in consumed()],
)
def test_every_consumed_event_is_published_with_an_example(
    consumer_name: str, producer: str, event: str
) -> None:
    assert producer in SPECS, f"{consumer_name} reads from an unknown service {producer!r}"
    assert event in SPECS[producer].registry.names, f"{producer} publishes no {event}"
    assert example_of(producer, event) is not None, f"{producer} has no example of {event}"


def test_the_page_covers_every_producer_and_every_consumed_event() -> None:
    assert set(CONTRACTS.fields) == set(SPECS)
    for _consumer, producer, event in consumed():
        assert event in CONTRACTS.fields[producer], f"docs/contracts.md lacks {event}"
    # The parser must have read something real from each section.
    assert all(len(events) >= 5 for events in CONTRACTS.fields.values())


@pytest.mark.parametrize(
    ("producer", "event"),
    [(p, e) for p, events in sorted(CONTRACTS.fields.items()) for e in sorted(events)],
)
def test_the_contract_fields_are_in_the_producers_example(producer: str, event: str) -> None:
    example = example_of(producer, event)
    assert example is not None, f"docs/contracts.md names {event}, {producer} has no example"
    data = SPECS[producer].registry.encode(example)
    promised = CONTRACTS.fields[producer][event]
    assert promised, f"no fields read for {event} from docs/contracts.md"
    missing = promised - set(data)
    assert not missing, f"{producer}'s {event} example lacks {sorted(missing)}"


def test_who_consumes_what_on_the_page_is_what_the_services_declare() -> None:
    declared: dict[str, dict[str, set[str]]] = {}
    for consumer_name, producer, event in consumed():
        declared.setdefault(consumer_name, {}).setdefault(producer, set()).add(event)
    assert declared == CONTRACTS.readers
