"""Text search that works the same on SQLite and PostgreSQL: a read model of search terms.

Chinese is written without spaces, and the queries people type are often two characters
(理工, 昆明): SQLite FTS5's trigram tokenizer needs three, and pg_trgm indexes such short
queries poorly. So a searchable object is stored as its set of terms, one row each, in a plain
indexed table:

- a run of CJK characters gives each character and each pair of neighbours (昆明理工 → 昆, 明,
  理, 工, 昆明, 明理, 理工);
- a run of letters and digits gives itself, lower-cased (a credit code, an English word).

A query is cut the same way, except that a CJK run of two or more characters gives only its
pairs, and an object matches when it holds every term of the query (`matching`). Limits: a
CJK query matches wherever its pairs all occur, adjacent or not (昆明理工 also finds a text
holding 昆明, 明理 and 理工 apart — rare in names); Latin text matches whole words only (no
prefixes: a credit code is found by all 18 characters); at most `MAX_QUERY_TERMS` terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from fastapi import Query
from sqlalchemy import (
    Column,
    CompoundSelect,
    Index,
    MetaData,
    Select,
    String,
    Table,
    intersect,
    select,
)

from shared.problems import HTTPProblem, problem_type

#: The most terms a query may have (a longer one is cut: the first terms already narrow it).
MAX_QUERY_TERMS = 16
#: The longest term stored: a Latin word beyond it is cut (a credit code has 18 characters).
MAX_TERM = 40

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(f"[{_CJK}]+|[0-9a-z]+")


def _runs(text: str) -> Iterable[tuple[bool, str]]:
    for match in _RUNS.finditer(text.lower()):
        run = match.group()
        yield not run[0].isascii(), run


def terms(*texts: str | None) -> set[str]:
    """The terms a text is found by."""
    found: set[str] = set()
    for text in texts:
        for cjk, run in _runs(text or ""):
            if cjk:
                found.update(run)
                found.update(run[i : i + 2] for i in range(len(run) - 1))
            else:
                found.add(run[:MAX_TERM])
    return found


def query_terms(query: str) -> list[str]:
    """The terms an object must all hold to match `query` (sorted; empty: nothing to look
    for)."""
    wanted: set[str] = set()
    for cjk, run in _runs(query):
        if cjk and len(run) > 1:
            wanted.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            wanted.add(run[:MAX_TERM])
    return sorted(wanted)[:MAX_QUERY_TERMS]


def terms_table(name: str, metadata: MetaData, id_length: int = 200) -> Table:
    """A search-terms table: (kind of object, a term, the object's id). The primary key leads
    with the term, so a query reads only the rows of its own terms; the index by object serves
    the rewrite of one object's terms."""
    table = Table(
        name,
        metadata,
        Column("kind", String(20), primary_key=True),
        Column("term", String(MAX_TERM), primary_key=True),
        Column("object_id", String(id_length), primary_key=True),
    )
    Index(f"{name}_by_object", table.c.kind, table.c.object_id)
    return table


def term_rows(kind: str, object_id: str, found: Iterable[str]) -> list[dict[str, str]]:
    return [{"kind": kind, "object_id": object_id, "term": t} for t in sorted(found)]


def matching(
    table: Table, kind: str, wanted: list[str]
) -> CompoundSelect[tuple[str]] | Select[tuple[str]]:
    """The ids of the objects of `kind` that hold every term of `wanted`.

    One lookup per term, intersected: each reads only its term's rows by the primary key. (A
    single `term IN (…) GROUP BY object_id HAVING count(*) = n` let SQLite's planner walk the
    index by object instead, measured ×100 slower on several terms.)"""
    lookups = [
        select(table.c.object_id).where(table.c.kind == kind, table.c.term == term)
        for term in wanted
    ]
    return lookups[0] if len(lookups) == 1 else intersect(*lookups)


def wanted_terms(query: str) -> list[str]:
    """The query's terms, or a 422 problem when it has none (only punctuation, spaces)."""
    wanted = query_terms(query)
    if not wanted:
        raise HTTPProblem(
            422,
            "Nothing to search for",
            "the query holds no letter, digit or CJK character",
            type_=problem_type("search-without-terms"),
        )
    return wanted


SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        description="a unit's name or part of it (two CJK characters are enough), its credit"
        " code (all 18 characters), or words of the overview; every term must match",
    ),
]
