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
    ApplicationResubmitted,
    ApplicationSubmitted,
    AttachmentAdded,
    AttachmentReplaced,
    Category,
    FormEntry,
    Level,
    Programme,
    Route,
    Slot,
    SubmittedFile,
)
from .form import ApplicationForm
from .unit import significant

#: Before the registry, the route followed the category the body declared (stored drafts only).
_LEGACY_DIRECT = frozenset(
    {
        Category.PROVINCIAL_UNIT,
        Category.CENTRAL_UNIT,
        Category.UNIVERSITY,
        Category.PREFECTURE_CAST,
        Category.NATIONAL_SOCIETY,
    }
)


def route_for(level: Level | None, jurisdiction: str, category: Category | None = None) -> Route:
    """Notice §3: central and provincial-level units go direct to the provincial CAST; units a
    prefecture owns (a park, a city-owned university such as 昆明学院, an enterprise) through
    their prefecture CAST. A unit known only by its province has no prefecture to go through.
    `level` None: a draft from before the registry, routed by its declared category."""
    if len(significant(jurisdiction)) <= 2:
        return Route.DIRECT
    if level is None:
        return Route.DIRECT if category in _LEGACY_DIRECT else Route.VIA_PREFECTURE
    return Route.VIA_PREFECTURE if level is Level.PREFECTURE else Route.DIRECT


@dataclass(frozen=True, slots=True)
class Attachment:
    attachment_id: str
    slot: Slot
    file: UploadedFile
    material: str | None = None

    @classmethod
    def of(cls, event: AttachmentAdded | AttachmentReplaced) -> Attachment:
        file = UploadedFile(event.name, event.media_type, event.size, event.sha256)
        return cls(event.attachment_id, event.slot, file, event.material)


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
    level: Level | None = None
    credit_code: str | None = None
    form: ApplicationForm = field(default_factory=ApplicationForm)
    files: tuple[Attachment, ...] = ()

    @classmethod
    def drafted(cls, e: ApplicationDrafted) -> Dossier:
        return cls(
            e.application_id, e.case_id, e.call_id, e.programme, e.unit_id, e.unit_name,
            e.category, e.jurisdiction, e.linked_case_id, e.level, e.credit_code,
        )  # fmt: skip

    def submitted_as(self, e: ApplicationSubmitted | ApplicationResubmitted) -> Dossier:
        """Who applies, as the submission recorded it: a draft from before the registry
        took its unit's verified registration when it was submitted."""
        if e.level is None:
            return self
        return replace(
            self, unit_name=e.unit_name, category=e.category, jurisdiction=e.jurisdiction,
            level=e.level, credit_code=e.credit_code,
        )  # fmt: skip

    @property
    def province(self) -> str:
        return self.jurisdiction[:2]

    @property
    def route(self) -> Route:
        return route_for(self.level, self.jurisdiction, self.category)

    def find(self, attachment_id: str) -> Attachment | None:
        return next((a for a in self.files if a.attachment_id == attachment_id), None)

    def holder_of(self, slot: Slot) -> Attachment | None:
        """The file in a material slot; `extra` holds many and is never full."""
        if slot is Slot.EXTRA:
            return None
        return next((a for a in self.files if a.slot is slot), None)

    def missing_materials(
        self, required: Iterable[Slot], additional: Iterable[str] = ()
    ) -> list[str]:
        """Slots with no file, then the call's additional materials (as `extra:<name>`)."""
        present = {a.slot for a in self.files}
        answered = {a.material for a in self.files if a.slot is Slot.EXTRA}
        missing = [str(slot) for slot in dict.fromkeys(required) if slot not in present]
        return missing + [f"extra:{name}" for name in additional if name not in answered]

    def submitted_files(self) -> tuple[SubmittedFile, ...]:
        return tuple(
            SubmittedFile(
                a.slot, a.file.name, a.file.media_type, a.file.size, a.file.sha256, a.material
            )
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
