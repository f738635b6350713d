"""The application service's use cases: every command and query it offers, in one place.

| family | commands | module |
|---|---|---|
| units | register, amend; verify, return (the unit's CAST) | `units.py` |
| calls | open; close at the deadline (scheduler) | `calls.py` |
| applications | draft, update draft, add / replace / remove attachment, request the work
  station (and draft the linked application), submit / resubmit, withdraw, record receipt;
  record return, rejection, designation (from review) | `applications.py` |
| renewals | request, withdraw, resubmit after a return; record base designation, window,
  return, pending past term, grant, refusal, new term, expiry, revocation (from review and
  assessment) | `renewals.py` |
| files | keep an attachment's bytes by hash, tell its type from its bytes | `files.py` |
| queries | units, applications, their history and files, bases and renewal requests, each
  read only by its owner unit or a reviewer whose jurisdiction covers it | `queries.py` |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.document_desk import DocumentDesk
from shared.runtime import Kernel
from shared.usecase import Executor

from ..projections.documents import issued_documents
from .applications import FilingUseCases
from .calls import CallUseCases
from .documents import KINDS_ISSUED
from .files import FileStore
from .queries import Queries
from .renewals import RenewalUseCases
from .units import UnitUseCases


@dataclass
class ApplicationUseCases:
    executor: Executor
    units: UnitUseCases
    calls: CallUseCases
    filing: FilingUseCases
    renewals: RenewalUseCases
    files: FileStore
    queries: Queries
    attachment_max_bytes: int
    documents: DocumentDesk

    @classmethod
    def build(cls, kernel: Kernel) -> ApplicationUseCases:
        executor = kernel.executor
        calls = CallUseCases(executor)
        units = UnitUseCases(executor)
        renewals = RenewalUseCases(executor, kernel.policies)
        return cls(
            executor=executor,
            units=units,
            calls=calls,
            filing=FilingUseCases(executor, calls, units),
            renewals=renewals,
            files=FileStore(kernel.settings.data_dir / "attachments"),
            queries=Queries(executor, renewals.policy),
            attachment_max_bytes=kernel.settings.attachment_max_bytes,
            documents=DocumentDesk(
                executor,
                executor.registry,
                issued_documents,
                {kind.name: kind for kind in KINDS_ISSUED},
                kernel.settings.console_public_url,
            ),
        )

    async def tick(self, now: datetime) -> None:
        """The scheduler: deadlines that have passed become events."""
        await self.calls.close_due_calls(now)
