"""What an application holds while it lives: who applies, the form, the files; and its route.

Values only: the application decider (application.py) says when they may change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from . import form
from .commands import UploadedFile
from .events import (
    ApplicationDrafted,
    AttachmentAdded,
    AttachmentReplaced,
    Category,
    FormEntry,
    Programme,
    Route,
    Slot,
    SubmittedFile,
)
from .form import ApplicationForm

_DIRECT = frozenset(
    {
        Category.PROVINCIAL_UNIT,
        Category.CENTRAL_UNIT,
        Category.UNIVERSITY,
        Category.PREFECTURE_CAST,
        Category.NATIONAL_SOCIETY,
    }
)


def route_for(category: Category, jurisdiction: str) -> Route:
    """Notice §3: provincial and central units go direct to the provincial CAST; parks,
    prefecture-owned institutes and enterprises through their prefecture CAST. A unit known
    only by its province has no prefecture to go through."""
    if category in _DIRECT or len(_significant(jurisdiction)) <= 2:
        return Route.DIRECT
    return Route.VIA_PREFECTURE


def _significant(code: str) -> str:
    """Trailing "00" pairs add nothing: 530000 is Yunnan (53), 530100 Kunming (5301)."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


@dataclass(frozen=True, slots=True)
class Attachment:
    attachment_id: str
    slot: Slot
    file: UploadedFile

    @classmethod
    def of(cls, event: AttachmentAdded | AttachmentReplaced) -> Attachment:
        file = UploadedFile(event.name, event.media_type, event.size, event.sha256)
        return cls(event.attachment_id, event.slot, file)


@dataclass(frozen=True, slots=True)
class Dossier:
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    category: Category
    jurisdiction: str
    linked_case_id: str | None
    form: ApplicationForm = field(default_factory=ApplicationForm)
    files: tuple[Attachment, ...] = ()

    @classmethod
    def drafted(cls, e: ApplicationDrafted) -> Dossier:
        return cls(
            e.application_id, e.case_id, e.call_id, e.programme, e.unit_id, e.unit_name,
            e.category, e.jurisdiction, e.linked_case_id,
        )  # fmt: skip

    @property
    def province(self) -> str:
        return self.jurisdiction[:2]

    @property
    def route(self) -> Route:
        return route_for(self.category, self.jurisdiction)

    def find(self, attachment_id: str) -> Attachment | None:
        return next((a for a in self.files if a.attachment_id == attachment_id), None)

    def holder_of(self, slot: Slot) -> Attachment | None:
        """The file in a material slot; `extra` holds many and is never full."""
        if slot is Slot.EXTRA:
            return None
        return next((a for a in self.files if a.slot is slot), None)

    def missing_materials(self, required: Iterable[Slot]) -> list[str]:
        present = {a.slot for a in self.files}
        return [str(slot) for slot in required if slot not in present]

    def submitted_files(self) -> tuple[SubmittedFile, ...]:
        return tuple(
            SubmittedFile(a.slot, a.file.name, a.file.media_type, a.file.size, a.file.sha256)
            for a in self.files
        )

    def with_form(self, entries: Iterable[FormEntry]) -> Dossier:
        return replace(self, form=form.apply(self.form, entries))

    def with_file(self, new: Attachment) -> Dossier:
        """Adds the file, or puts it in the place of the one with the same id."""
        if self.find(new.attachment_id) is None:
            return replace(self, files=(*self.files, new))
        files = tuple(new if a.attachment_id == new.attachment_id else a for a in self.files)
        return replace(self, files=files)

    def without(self, attachment_id: str) -> Dossier:
        return replace(self, files=tuple(a for a in self.files if a.attachment_id != attachment_id))
