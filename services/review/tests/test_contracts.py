"""What the review service publishes and reads, as other services' contract tests see it."""

from __future__ import annotations

from shared.testkit.service import RunningService

from ..messaging.contracts import CONSUMES, EXAMPLES, registry


def test_every_published_event_has_an_example_that_round_trips() -> None:
    assert {type(e).__name__ for e in EXAMPLES} == set(registry.names)
    for example in EXAMPLES:
        encoded = registry.encode(example)
        assert registry.decode(registry.type_of(example), encoded) == example


async def test_the_consumers_handle_what_the_asyncapi_document_says_is_consumed(
    service: RunningService,
) -> None:
    handled = {
        (consumer.durable, consumer.subscription.upstream, name)
        for consumer in service.kernel.consumers
        for name in consumer.subscription.handlers
    }
    assert {(upstream, name) for _, upstream, name in handled} == {
        (upstream, name) for upstream, names in CONSUMES for name in names
    }
    assert {durable for durable, _, _ in handled} == {
        "review-from-application",
        "review-from-assessment",
    }
    served = (await service.client.get("/asyncapi.json")).json()
    assert {"review-from-application", "review-from-assessment"} <= set(served["operations"])
