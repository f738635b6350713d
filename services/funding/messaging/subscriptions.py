"""The durable consumers: `funding-from-review` and `funding-from-assessment`."""

from __future__ import annotations

from faststream.nats import NatsRouter

from shared.consumer import Subscription
from shared.edge import Consumers, service_edge

from ..usecases import FundingUseCases
from .contracts import CONSUMES, EXAMPLES, SERVICE, registry


def subscriptions(usecases: FundingUseCases) -> list[Subscription]:
    return [
        Subscription(f"{SERVICE}-from-{upstream}", upstream, usecases.reactions.handlers(upstream))
        for upstream, _names in CONSUMES
    ]


def edge(consumers: Consumers) -> NatsRouter:
    """This service on the bus, declared with FastStream: every event type it publishes, and a
    durable pull subscriber per upstream service feeding the consumer of `subscriptions`."""
    return service_edge(consumers, registry, EXAMPLES, CONSUMES)
