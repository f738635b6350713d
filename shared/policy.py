"""Versioned policy documents: the programme's numbers live in `policies/*.toml`, not in code.

Each file is one version (`version`, `effective_from`, then sections). A decision applies the
version in force on its date and names it on the event, so history can always be explained.
Services turn the sections they need into their own domain policy objects.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class PolicyBook:
    documents: tuple[PolicyDocument, ...]

    @classmethod
    def load(cls, folder: Path) -> PolicyBook:
        documents = []
        for path in sorted(folder.glob("*.toml")):
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            version, effective = raw.pop("version"), raw.pop("effective_from")
            documents.append(PolicyDocument(str(version), effective, raw))
        if not documents:
            raise FileNotFoundError(f"no policy documents in {folder}")
        return cls(tuple(sorted(documents, key=lambda d: d.effective_from)))

    def in_force(self, on: date) -> PolicyDocument:
        """The newest version whose `effective_from` is not after `on` (else the oldest)."""
        chosen = self.documents[0]
        for document in self.documents:
            if document.effective_from <= on:
                chosen = document
        return chosen

    def version(self, version: str) -> PolicyDocument:
        for document in self.documents:
            if document.version == version:
                return document
        raise KeyError(f"no policy version {version!r}")
