"""The notification service's use cases: every reaction, task and query it offers, in one place.

Reactions (consumers): an upstream event → a notice to the people its rule names; a unit's
registration → its contacts; an upstream event → a step of a base's deadline. Background: the
delivery worker mails what is pending. Scheduler: the reviewers' daily digests and the
reminders of deadlines near. Queries and commands of a person: the inbox, read marks,
preferences.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.cst import cst_date
from shared.runtime import Kernel
from shared.usecase import Executor

from ..settings import NotificationSettings, notification_settings
from .delivery import DeliveryWorker
from .digest import Digests
from .inbox import Inbox
from .reactions import Reactions
from .reminders import Reminders


@dataclass
class NotificationUseCases:
    executor: Executor
    settings: NotificationSettings
    reactions: Reactions
    delivery: DeliveryWorker
    digests: Digests
    reminders: Reminders
    inbox: Inbox

    @classmethod
    def build(cls, kernel: Kernel) -> NotificationUseCases:
        settings = notification_settings(kernel.settings)
        return cls(
            executor=kernel.executor,
            settings=settings,
            reactions=Reactions(kernel.executor, timedelta(days=settings.notify_within_days)),
            delivery=DeliveryWorker(kernel.executor, settings),
            digests=Digests(kernel.executor),
            reminders=Reminders(kernel.executor),
            inbox=Inbox(kernel.db, settings),
        )

    async def due(self, now: datetime) -> int:
        """What is due at `now` and not yet done: the digests and reminders `tick` would tell
        (CST days), and the mails the delivery worker has still to send."""
        today = cst_date(now)
        digests, reminders = await self.digests.due(today), await self.reminders.due(today)
        return digests + len(reminders) + await self.delivery.due(now)

    async def tick(self, now: datetime) -> None:
        """The scheduler: the reviewers' daily digests and the reminders of deadlines near
        (CST days, by the service's clock)."""
        await self.digests.issue_due(now)
        await self.reminders.remind_due(now)

    async def run_delivery(self, stop: asyncio.Event) -> None:
        await self.delivery.run(stop)
