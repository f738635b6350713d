"""The durable consumers: `funding-from-review` and `funding-from-assessment`."""

from __future__ import annotations

from shared.consumer import Subscription

from ..usecases import FundingUseCases
from .contracts import CONSUMES, SERVICE


def subscriptions(usecases: FundingUseCases) -> list[Subscription]:
    return [
        Subscription(f"{SERVICE}-from-{upstream}", upstream, usecases.reactions.handlers(upstream))
        for upstream, _names in CONSUMES
    ]
