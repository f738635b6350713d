"""Read model: the documents this service issued (the Annex 2 form, the receipt record), by
application and by SHA-256 — what the auditor's check of a paper or a PDF looks up."""

from __future__ import annotations

from shared.document_desk import IssuedDocumentsProjection, issued_documents_table

from .base import metadata

issued_documents = issued_documents_table(metadata)


def documents_projection() -> IssuedDocumentsProjection:
    return IssuedDocumentsProjection.for_table(issued_documents)
