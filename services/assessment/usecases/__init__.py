"""The assessment service's use cases: every command and query it offers, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.document_desk import DocumentDesk
from shared.runtime import Kernel
from shared.usecase import Executor

from ..projections.documents import issued_documents
from .bases import BaseUseCases
from .documents import KINDS
from .grade_lists import GradeListUseCases
from .policy import Policies
from .stations import StationUseCases

#: More than this between the instant a tick began with and the clock after it is a jump.
_JUMP = timedelta(seconds=1)


@dataclass
class AssessmentUseCases:
    executor: Executor
    bases: BaseUseCases
    grade_lists: GradeListUseCases
    stations: StationUseCases
    documents: DocumentDesk
    #: The instant the last complete tick brought every base up to (None before the first).
    ticked_to: datetime | None = field(default=None)

    @classmethod
    def build(cls, kernel: Kernel) -> AssessmentUseCases:
        policies = Policies(kernel.policies)
        bases = BaseUseCases(kernel.executor, policies)
        grade_lists = GradeListUseCases(kernel.executor, policies, bases)
        stations = StationUseCases(kernel.executor, kernel.policies)
        documents = DocumentDesk(
            kernel.executor,
            kernel.executor.registry,
            issued_documents,
            {kind.name: kind for kind in KINDS},
            kernel.settings.console_public_url,
        )
        return cls(kernel.executor, bases, grade_lists, stations, documents)

    async def tick(self, now: datetime) -> None:
        """The scheduler: deadlines that have come become events, base by base, then the
        tracked work stations' expiries.

        The kernel's loop waits for the clock's next jump only after a tick returns, so a jump
        during the tick would wait for the next interval: tick again at once while the clock
        has jumped since this tick began.
        """
        clock = self.executor.clock
        while True:
            started = datetime.now(now.tzinfo)
            failures: list[Exception] = []
            for base_id in await self.bases.active_base_ids():
                try:
                    await self.bases.meet_deadlines(base_id, now)
                except Exception as failure:  # re-raised below: one base must not stall the rest
                    failures.append(failure)
            for station_id in await self.stations.tracked_station_ids():
                try:
                    await self.stations.meet_deadlines(station_id, now)
                except Exception as failure:  # re-raised below, as for bases
                    failures.append(failure)
            if failures:
                raise ExceptionGroup(f"deadlines failed for {len(failures)} bases", failures)
            self.ticked_to = now
            latest, elapsed = clock.now(), datetime.now(now.tzinfo) - started
            if latest == now or abs((latest - now) - elapsed) <= _JUMP:
                return
            now = latest
