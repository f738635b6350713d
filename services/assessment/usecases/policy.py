"""The assessment policy in force, from the kernel's versioned policy book."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.policy import PolicyBook, PolicyDocument

from ..domain.policy import AssessmentPolicy


@dataclass
class Policies:
    book: PolicyBook
    _built: dict[str, AssessmentPolicy] = field(default_factory=dict)

    def in_force(self, on: date) -> AssessmentPolicy:
        return self._of(self.book.in_force(on))

    def version(self, version: str) -> AssessmentPolicy:
        return self._of(self.book.version(version))

    def _of(self, document: PolicyDocument) -> AssessmentPolicy:
        if document.version not in self._built:
            sections = {"version": document.version, **document.sections}
            self._built[document.version] = AssessmentPolicy.from_document(sections)
        return self._built[document.version]
