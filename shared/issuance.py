"""The issue of a document, as an event: which document, from which events, with which hash.

Mechanism only: a service that issues documents (a letter, a certificate, a form for the paper
copy) registers `DocumentIssued` in its own registry, so the fact is published as its own
(`haizhi.<service>.DocumentIssued.v1`) and the auditor finds, in the stream, the SHA-256 of
every document the service ever issued and the exact events it was generated from. Pure: the
decider below is a service's `documents-<subject id>` stream — issuing the same bytes again
records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.decider import Decider

STREAM_PREFIX = "documents"


def documents_stream(subject_id: str) -> str:
    """The stream of the documents issued about one object (an application, a review…)."""
    return f"{STREAM_PREFIX}-{subject_id}"


@dataclass(frozen=True, slots=True)
class DocumentIssued:
    """A document generated from `sources` was issued; its bytes hash to `sha256`."""

    document_id: str
    kind: str
    subject_id: str
    case_id: str
    #: Who may read it: the documented object's jurisdiction and owning organisation.
    jurisdiction: str
    owner: str
    sha256: str
    size: int
    filename: str
    #: `<stream id>@<version>` of each event the document was generated from, in order…
    sources: tuple[str, ...]
    #: … and each one's hash in the store's chain, so a replay can tell it is the same event.
    source_hashes: tuple[str, ...]
    by: str
    at: datetime
    #: A URL the document prints (the plaque's QR code): part of what it was generated from.
    link: str = ""


@dataclass(frozen=True, slots=True)
class IssueDocument:
    """Issue `document`, unless it is the last of its kind already issued (the same bytes)."""

    document: DocumentIssued


@dataclass(frozen=True, slots=True)
class Issued:
    """The last issue of each kind: (kind, document id, sha256)."""

    latest: tuple[tuple[str, str, str], ...] = field(default=())

    def last(self, kind: str) -> tuple[str, str] | None:
        """(document id, sha256) of the last `kind` issued, or None."""
        found = [(doc, sha) for k, doc, sha in self.latest if k == kind]
        return found[-1] if found else None


def evolve(state: Issued, event: DocumentIssued) -> Issued:
    others = tuple(entry for entry in state.latest if entry[0] != event.kind)
    return Issued((*others, (event.kind, event.document_id, event.sha256)))


def decide(command: IssueDocument, state: Issued) -> list[DocumentIssued]:
    document = command.document
    last = state.last(document.kind)
    if last is not None and last[1] == document.sha256:
        return []  # the same document from the same events: already issued
    return [document]


decider: Decider[IssueDocument, Issued, DocumentIssued] = Decider(
    decide=decide, evolve=evolve, initial_state=Issued
)
