"""The durable consumers: `notification-from-<upstream>`, one per service it listens to."""

from __future__ import annotations

from faststream.nats import NatsRouter

from shared.consumer import Subscription
from shared.edge import Consumers, service_edge

from ..usecases import NotificationUseCases
from .contracts import CONSUMES, EXAMPLES, SERVICE, registry


def subscriptions(usecases: NotificationUseCases) -> list[Subscription]:
    return [
        Subscription(
            f"{SERVICE}-from-{upstream}", upstream, usecases.reactions.handlers(upstream, names)
        )
        for upstream, names in CONSUMES
    ]


def edge(consumers: Consumers) -> NatsRouter:
    """This service on the bus, declared with FastStream: the events it publishes, and a
    durable pull subscriber per upstream service feeding the consumer of `subscriptions`."""
    return service_edge(consumers, registry, EXAMPLES, CONSUMES)
