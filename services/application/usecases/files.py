"""Attachment bytes: their type told from the bytes themselves, and a content-addressed store.

A file is kept once under `<data_dir>/attachments/<sha[:2]>/<sha>`, written to a temporary
name and renamed into place, so a reader never sees half a file and a crash leaves no
corrupt one. The events record only name, type, size and hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {PDF: {".pdf"}, PNG: {".png"}, JPEG: {".jpg", ".jpeg"}, DOCX: {".docx"}}
_GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
_CHUNK = 1024 * 1024


class UnsupportedFileType(ValueError):
    """The bytes are none of PDF, PNG, JPEG, DOCX (HTTP 415)."""


class MislabelledFile(ValueError):
    """The name or the declared type says one thing, the bytes another (HTTP 422)."""


def detect_media_type(file: BinaryIO) -> str:
    """PDF `%PDF-`, PNG's signature, JPEG `FF D8 FF`, DOCX: a ZIP holding `word/document.xml`."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04") and _is_docx(file):
        return DOCX
    raise UnsupportedFileType("only PDF, PNG, JPEG and DOCX files are accepted (told by bytes)")


def _is_docx(file: BinaryIO) -> bool:
    try:
        with zipfile.ZipFile(file) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False
    finally:
        file.seek(0)


def check_label(name: str, declared: str | None, detected: str) -> None:
    """A known extension or a specific declared type must agree with the bytes."""
    extension = Path(name).suffix.lower()
    if extension and extension not in EXTENSIONS[detected]:
        raise MislabelledFile(f"{name!r} is named like another type but its bytes are {detected}")
    declared_type = (declared or "").split(";")[0].strip().lower()
    if declared_type not in _GENERIC and declared_type != detected:
        raise MislabelledFile(f"declared {declared_type} but the bytes are {detected}")


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int


@dataclass(frozen=True)
class FileStore:
    root: Path  # <data_dir>/attachments

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, file: BinaryIO) -> StoredFile:
        """Hash and keep the file; an identical file already kept is not written again."""
        digest, size = hashlib.sha256(), 0
        file.seek(0)
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        sha = digest.hexdigest()
        target = self.path_of(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            file.seek(0)
            descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(descriptor, "wb") as out:
                    while chunk := file.read(_CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredFile(sha, size)

    def open(self, sha256: str) -> Path | None:
        path = self.path_of(sha256)
        return path if path.is_file() else None
