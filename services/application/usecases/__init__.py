"""The application service's use cases: every command and query it offers, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.runtime import Kernel
from shared.usecase import Executor

from .calls import CallUseCases


@dataclass
class ApplicationUseCases:
    executor: Executor
    calls: CallUseCases

    @classmethod
    def build(cls, kernel: Kernel) -> ApplicationUseCases:
        return cls(executor=kernel.executor, calls=CallUseCases(kernel.executor))

    async def tick(self, now: datetime) -> None:
        """The scheduler: deadlines that have passed become events."""
        await self.calls.close_due_calls(now)
