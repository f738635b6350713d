"""The funding service's use cases: every command, reaction and query it offers, in one place.

Commands (finance): approve an instalment, confirm its payment, report a returned payment.
Reactions (consumers): designation → plan under the province's own policy (or the reason
there is none), renewal, rectification hold / release, exit.
Scheduler: instalments whose anniversary has come fall due.
Queries: the finance feed, the reconciliation, the plans, a base's funding view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.runtime import Kernel
from shared.usecase import Executor

from .plans import PlanUseCases, check_provincial_policies
from .queries import FundingQueries
from .reactions import Reactions


@dataclass
class FundingUseCases:
    executor: Executor
    plans: PlanUseCases
    reactions: Reactions
    queries: FundingQueries

    @classmethod
    def build(cls, kernel: Kernel) -> FundingUseCases:
        check_provincial_policies(kernel.policies)
        plans = PlanUseCases(kernel.executor)
        return cls(
            executor=kernel.executor,
            plans=plans,
            reactions=Reactions(kernel.executor, kernel.policies, plans),
            queries=FundingQueries(kernel.db, kernel.store, kernel.executor.registry),
        )

    async def tick(self, now: datetime) -> None:
        """The scheduler: every instalment whose date has come (CST) falls due."""
        await self.plans.mark_due_plans(now)
