"""docs/contracts.md read as data: the fields each producer promises, and who reads what.

The page has two shapes: tables (`| event | when | data fields others rely on |`) for
application, review and assessment, and prose for funding ("Every event carries …; instalment
events also …", then the events with their own fields in parentheses). Backticked words in
parentheses are values or notes (`national_base`, `{slot, name, …}`), not fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"

_SECTION = re.compile(r"^## (\w+) \(owner: `services/(\w+)`\)$", re.M)
_TICKED = re.compile(r"`([^`]+)`")
_EVENT = re.compile(r"^[A-Z][A-Za-z]+$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Contracts:
    #: producer -> event name -> the data fields others may rely on
    fields: dict[str, dict[str, set[str]]]
    #: consumer -> producer -> the event names it reads
    readers: dict[str, dict[str, set[str]]]


def _outside_parentheses(text: str) -> str:
    depth, kept = 0, []
    for char in text:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


def _row(line: str) -> list[str]:
    # `\|` inside a cell is a literal bar (an alternative of values), not a column.
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [cell.strip() for cell in cells]


def _table_fields(body: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    same_as: dict[str, str] = {}
    for line in body.splitlines():
        if not line.startswith("| `"):
            continue
        name_cell, _when, fields_cell = _row(line)[:3]
        name = _TICKED.findall(name_cell)[0]
        ticked = _TICKED.findall(_outside_parentheses(fields_cell))
        found[name] = {t for t in ticked if _FIELD.match(t)}
        if "same fields as" in fields_cell:
            same_as[name] = next(t for t in ticked if _EVENT.match(t))
    for name, other in same_as.items():
        found[name] |= found[other]
    return found


def _prose_fields(body: str) -> dict[str, set[str]]:
    every = re.search(r"Every event carries (.*?);", body, re.S)
    instalment = re.search(r"instalment events also (.*?)\.\n", body, re.S)
    if every is None or instalment is None:
        raise ValueError("the funding section's prose has changed shape")
    common = set(_TICKED.findall(every[1]))
    per_instalment = {t for t in _TICKED.findall(instalment[1]) if _FIELD.match(t)}
    listing = next(p for p in body.split("\n\n") if p.startswith("`SubsidyPlanCreated`"))
    found: dict[str, set[str]] = {}
    for match in re.finditer(r"`([A-Z]\w+)`(?:\s*\(([^)]*)\))?", listing):
        name, own = match[1], set(_TICKED.findall(match[2] or ""))
        found[name] = common | own | (per_instalment if name.startswith("Instalment") else set())
    return found


def _readers(body: str) -> dict[str, dict[str, set[str]]]:
    readers: dict[str, dict[str, set[str]]] = {}
    for line in body.splitlines():
        if not line.startswith("| ") or line.startswith(("| consumer", "|---")):
            continue
        consumer, reads = _row(line)[:2]
        by_producer = readers.setdefault(consumer, {})
        # "`A`, `B` (application); `C` (assessment; a note)": names, then their producer.
        for group in reads.split(";"):
            owner = re.search(r"\((\w+)", group)
            if owner is None:
                continue  # the tail of a note after a semicolon
            names = {t for t in _TICKED.findall(group) if _EVENT.match(t)}
            by_producer.setdefault(owner[1], set()).update(names)
    return readers


def read_contracts(page: Path = PAGE) -> Contracts:
    text = page.read_text(encoding="utf-8")
    sections = list(_SECTION.finditer(text))
    fields: dict[str, dict[str, set[str]]] = {}
    for n, section in enumerate(sections):
        end = sections[n + 1].start() if n + 1 < len(sections) else text.index("## Who consumes")
        body = text[section.end() : end]
        producer = section[2]
        fields[producer] = _prose_fields(body) if "|---" not in body else _table_fields(body)
    who = text[text.index("## Who consumes") :]
    return Contracts(fields, _readers(who))
