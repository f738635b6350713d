"""Versioned policy documents: the programme's numbers live in `policies/*.toml`, not in code.

Each file is one version (`version`, `effective_from`, then sections). A decision applies the
version in force on its date and names it on the event, so history can always be explained.
Services turn the sections they need into their own domain policy objects.

Some rules are a province's own, not the programme's (Notice §4: the subsidy is the provincial
CAST's promise). Those live in `policies/provinces/*.toml`, one file per province and version,
each naming its `province` (the 2-digit division code); a province with no file has no such
policy, and the services that would apply one say so instead of borrowing another's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PROVINCES = "provinces"


@dataclass(frozen=True)
class PolicyDocument:
    version: str
    effective_from: date
    sections: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        try:
            value: dict[str, Any] = self.sections[name]
        except KeyError:
            raise KeyError(f"policy {self.version} has no [{name}] section") from None
        return value

    def has(self, name: str) -> bool:
        return isinstance(self.sections.get(name), dict)


@dataclass(frozen=True)
class PolicyBook:
    documents: tuple[PolicyDocument, ...]
    #: Each province's own versions (oldest first), keyed by its 2-digit division code.
    provinces: Mapping[str, tuple[PolicyDocument, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> PolicyBook:
        documents = _documents(folder.glob("*.toml"))
        if not documents:
            raise FileNotFoundError(f"no policy documents in {folder}")
        provinces: dict[str, list[PolicyDocument]] = {}
        for document in _documents((folder / PROVINCES).glob("*.toml")):
            province = document.sections.pop("province", None)
            if not (isinstance(province, str) and len(province) == 2 and province.isdigit()):
                raise ValueError(
                    f"provincial policy {document.version} must name its 2-digit `province`"
                )
            provinces.setdefault(province, []).append(document)
        return cls(documents, {code: tuple(docs) for code, docs in provinces.items()})

    def in_force(self, on: date) -> PolicyDocument:
        """The newest version whose `effective_from` is not after `on` (else the oldest)."""
        found = _in_force(self.documents, on)
        return found if found is not None else self.documents[0]

    def version(self, version: str) -> PolicyDocument:
        for document in (*self.documents, *(d for ds in self.provinces.values() for d in ds)):
            if document.version == version:
                return document
        raise KeyError(f"no policy version {version!r}")

    def provincial(self, province: str, on: date) -> PolicyDocument | None:
        """The province's own version in force on `on`; None when it has none by then."""
        return _in_force(self.provinces.get(province, ()), on)


def _documents(paths: Iterable[Path]) -> tuple[PolicyDocument, ...]:
    documents = []
    for path in sorted(paths):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        try:
            version, effective = raw.pop("version"), raw.pop("effective_from")
        except KeyError as missing:
            raise ValueError(f"{path} has no {missing}") from None
        if not isinstance(effective, date):
            raise ValueError(f"{path}: effective_from must be a date")
        documents.append(PolicyDocument(str(version), effective, raw))
    return tuple(sorted(documents, key=lambda d: d.effective_from))


def _in_force(documents: Iterable[PolicyDocument], on: date) -> PolicyDocument | None:
    chosen = None
    for document in documents:
        if document.effective_from <= on:
            chosen = document
    return chosen
