"""The console's error catalogue (`web.errors`) against what the services can answer.

Every refusal (`DomainError` subclass) and every literal problem code in `shared/` and
`services/` has a message and a next step; every message and next step has its Chinese in
`web/locale/zh/LC_MESSAGES/errors.po`, and the file keeps nothing else; `explain` picks the
entry by code (or by the `type` URL), falls back by status, and translates with the `gettext`
it is given.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from fastapi import FastAPI
from pydantic import BaseModel

import services
import shared
from shared.auth import forbidden
from shared.decider import DomainError
from shared.problems import PROBLEM_TYPE_BASE, install_problem_handlers
from web import errors
from web.errors import ERRORS, FALLBACKS, GENERIC, Explanation, explain

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "web" / "locale" / "zh" / "LC_MESSAGES"
ERRORS_PO = CATALOGUES / "errors.po"
#: Packages that are not code a service runs: their toy errors are answered by no service.
_NOT_SERVED = frozenset({"tests", "testkit", "migrations"})
_CJK = re.compile(r"[\u3400-\u9fff]")


# --- what the services can answer ---------------------------------------------------------


def _served(name: str) -> bool:
    return not _NOT_SERVED.intersection(name.split("."))


@cache
def _imported_modules() -> tuple[str, ...]:
    """Imports every module that a service runs (not tests, toys or migrations)."""
    names: list[str] = []
    for package in (shared, services):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if _served(module.name):
                importlib.import_module(module.name)
                names.append(module.name)
    return tuple(names)


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _refusals() -> dict[str, list[str]]:
    """Each code of a `DomainError` (subclass) defined in served code → the classes with it."""
    _imported_modules()
    found: dict[str, list[str]] = {DomainError.code: ["shared.decider.DomainError"]}
    for cls in _subclasses(DomainError):
        if _served(cls.__module__):
            found.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    return found


def _sources() -> Iterator[Path]:
    for top in ("shared", "services"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if _served(".".join(path.relative_to(ROOT).parts)):
                yield path


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.Call) -> str | None:
    function = node.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def _codes_in(tree: ast.AST) -> Iterator[str | None]:
    """The literal codes a module answers with: `code="…"` anywhere (`HTTPProblem`, …),
    `forbidden(detail, "…")`, `problem_type("…")`, `{"code": "…"}`, a class's `code = "…"`
    and a parameter `code` defaulting to a literal (`def forbidden(…, code="forbidden")`)."""
    for node in ast.walk(tree):
        match node:
            case ast.Call():
                yield from (_literal(k.value) for k in node.keywords if k.arg == "code")
                name = _called(node)
                if name == "forbidden" and len(node.args) > 1:
                    yield _literal(node.args[1])
                if name == "problem_type" and node.args:
                    yield _literal(node.args[0])
            case ast.Dict():
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and _literal(key) == "code":
                        yield _literal(value)
            case ast.ClassDef():
                for statement in node.body:
                    if isinstance(statement, ast.Assign | ast.AnnAssign):
                        targets = (
                            statement.targets
                            if isinstance(statement, ast.Assign)
                            else [statement.target]
                        )
                        if any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                            yield _literal(statement.value)
            case ast.FunctionDef() | ast.AsyncFunctionDef():
                arguments = node.args
                positional = [*arguments.posonlyargs, *arguments.args]
                defaulted = positional[len(positional) - len(arguments.defaults) :]
                pairs = [
                    *zip(defaulted, arguments.defaults, strict=True),
                    *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
                ]
                yield from (_literal(default) for arg, default in pairs if arg.arg == "code")


@cache
def _literal_codes() -> dict[str, list[str]]:
    """Each literal code in served source → the files that use it."""
    found: dict[str, list[str]] = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for code in _codes_in(tree):
            if code is not None:
                found.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return found


# --- the Chinese catalogue -----------------------------------------------------------------


@cache
def _catalogue(path: Path = ERRORS_PO) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale="zh_Hans_CN")


def _zh(message: str) -> str:
    found = _catalogue().get(message)
    return message if found is None or not isinstance(found.string, str) else found.string


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- (a), (b): every code has an entry ------------------------------------------------------


def test_every_refusal_has_an_entry() -> None:
    refusals = _refusals()
    assert len(refusals) > 150, "fewer refusals than the services define: is the walk broken?"
    missing = {code: where for code, where in refusals.items() if code not in ERRORS}
    assert not missing, f"DomainError codes without an entry in web.errors.ERRORS: {missing}"


def test_every_literal_code_has_an_entry() -> None:
    codes = _literal_codes()
    # The scan must see each kind of place a code is written, or it proves nothing.
    for seen in ("role-required", "store-unavailable", "invalid-request", "forbidden"):
        assert seen in codes, f"the source scan no longer finds {seen!r}"
    assert len(codes) > 150
    missing = {code: where for code, where in codes.items() if code not in ERRORS}
    assert not missing, f"problem codes in shared/ and services/ without an entry: {missing}"


def test_the_scan_agrees_with_the_classes() -> None:
    """Every refusal's code is written literally too: nothing is built at run time."""
    assert set(_refusals()) <= set(_literal_codes())


def test_entries_are_well_formed() -> None:
    for code, (message, next_step) in ERRORS.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code), code
        for text in (message, next_step):
            assert text.strip() == text, (code, text)
            assert text.endswith("."), (code, text)
            assert "{" not in text, f"{code}: an entry's text is shown as is, not formatted"
    for status in (400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 429, 500, 502, 503, 504):
        assert status in FALLBACKS, f"no fallback for HTTP {status}"


def test_the_type_base_is_the_services() -> None:
    assert errors.PROBLEM_TYPE_BASE == PROBLEM_TYPE_BASE


# --- (c), (d): the Chinese catalogue --------------------------------------------------------


def test_the_catalogue_header() -> None:
    catalogue = _catalogue()
    assert str(catalogue.locale) == "zh_Hans_CN"
    assert catalogue.plural_forms == "nplurals=1; plural=0;"
    header = ERRORS_PO.read_text(encoding="utf-8")
    assert '"Content-Type: text/plain; charset=UTF-8\\n"' in header
    assert '"Language: zh_Hans_CN\\n"' in header
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header


def test_every_message_has_its_chinese() -> None:
    catalogue = _catalogue()
    wanted = [(code, text) for code, entry in ERRORS.items() for text in entry]
    wanted += [(f"HTTP {status}", text) for status, entry in FALLBACKS.items() for text in entry]
    wanted += [("generic", text) for text in GENERIC]
    wanted += [("listing", text) for text in errors.messages()]
    untranslated: list[tuple[str, str]] = []
    for where, text in wanted:
        found = catalogue.get(text)
        zh = found.string if found is not None else None
        if (
            found is None
            or found.fuzzy
            or not isinstance(zh, str)
            or not zh.strip()
            or zh == text
            or not _CJK.search(zh)
        ):
            untranslated.append((where, text))
            continue
        assert _placeholders(zh) == _placeholders(text), (where, text, zh)
    assert not untranslated, f"messages without Chinese in {ERRORS_PO.name}: {untranslated}"


def test_no_entry_of_the_catalogue_is_unused() -> None:
    used = set(errors.messages())
    kept = {message.id for message in _catalogue() if message.id}
    assert not kept - used, f"entries of {ERRORS_PO.name} nothing uses: {kept - used}"


def test_the_extractor_finds_every_message() -> None:
    """What `pybabel extract -k N_` finds in web/errors.py is what `messages()` says."""
    extracted = extract_from_file("python", str(ROOT / "web" / "errors.py"), keywords={"N_": None})
    assert {message for _, message, _, _ in extracted} == set(errors.messages())


def test_no_other_catalogue_translates_a_message_otherwise() -> None:
    """The console reads every catalogue into one table: one msgid, one Chinese."""
    ours = _catalogue()
    for path in sorted(CATALOGUES.glob("*.po")):
        if path == ERRORS_PO:
            continue
        for message in _catalogue(path):
            mine = ours.get(message.id) if message.id else None
            if mine is not None:
                assert mine.string == message.string, (path.name, message.id)


# --- (e): explain ---------------------------------------------------------------------------


def test_a_known_code_gives_its_entry_translated() -> None:
    detail = "ApproveInstalment refused: plan p-1 is closed"
    problem = {
        "type": PROBLEM_TYPE_BASE + "plan-closed",
        "title": "The subsidy plan is closed",
        "status": 409,
        "detail": detail,
        "code": "plan-closed",
    }
    told = explain(409, problem, _zh)
    message, next_step = ERRORS["plan-closed"]
    assert told == Explanation(_zh(message), _zh(next_step), "plan-closed", 409, detail)
    assert _CJK.search(told.message)
    assert _CJK.search(told.next_step)
    assert explain(409, problem, str).message == message  # English: the msgid itself


def test_the_code_comes_from_the_type_when_the_problem_has_none() -> None:
    problem = {"type": PROBLEM_TYPE_BASE + "body-too-large", "status": 413, "max_bytes": 1}
    told = explain(413, problem, str)
    assert told.code == "body-too-large"
    assert (told.message, told.next_step) == ERRORS["body-too-large"]
    assert told.detail is None


def test_an_unknown_code_falls_back_by_status() -> None:
    problem = {"type": PROBLEM_TYPE_BASE + "no-such-refusal", "code": "no-such-refusal"}
    told = explain(409, problem, _zh)
    assert told.code == "no-such-refusal"
    assert (told.message, told.next_step) == tuple(map(_zh, FALLBACKS[409]))
    blank = explain(503, {"type": "about:blank", "title": "Service Unavailable"}, str)
    assert blank.code is None
    assert (blank.message, blank.next_step) == FALLBACKS[503]


def test_no_problem_at_all_falls_back_by_status_then_generically() -> None:
    assert explain(502, None, str) == Explanation(*FALLBACKS[502], None, 502, None)
    assert explain(418, None, str) == Explanation(*GENERIC, None, 418, None)
    assert explain(418, {}, _zh).message == _zh(GENERIC[0])


def test_explain_translates_with_the_gettext_given() -> None:
    asked: list[str] = []

    def gettext(message: str) -> str:
        asked.append(message)
        return f"«{message}»"

    told = explain(403, {"code": "role-required"}, gettext)
    assert asked == list(ERRORS["role-required"])
    assert told.message == f"«{ERRORS['role-required'][0]}»"
    assert told.next_step == f"«{ERRORS['role-required'][1]}»"


def test_a_validation_problem_names_its_fields() -> None:
    problem = {
        "type": PROBLEM_TYPE_BASE + "invalid-request",
        "status": 422,
        "errors": [
            {"location": ["body", "credit_code"], "message": "too short", "type": "x"},
            {"location": ["body", "contacts", 0, "email"], "message": "bad", "type": "x"},
            {"location": ["body", "credit_code"], "message": "again", "type": "x"},
            {"location": ["body"], "message": "the body as a whole", "type": "x"},
        ],
    }
    english = explain(422, problem, str)
    assert english.message.endswith(" Fields to correct: credit_code, contacts.0.email.")
    chinese = explain(422, problem, _zh)
    assert chinese.message.startswith(_zh(ERRORS["invalid-request"][0]))
    assert chinese.message.endswith("credit_code、contacts.0.email。")
    labels = {"credit_code": "统一社会信用代码", "contacts.0.email": "联系人电子邮箱"}
    labelled = explain(422, problem, _zh, label=lambda name: labels.get(name, name))
    assert "统一社会信用代码、联系人电子邮箱" in labelled.message
    # The console's own check (web/failures.py) writes `loc`, as FastAPI does.
    own = explain(422, {"code": "validation-failed", "errors": [{"loc": ["name"]}]}, str)
    assert own.message.endswith("Fields to correct: name.")


def test_a_refusal_names_what_it_lists() -> None:
    problem = {
        "code": "submission-incomplete",
        "detail": "SubmitApplication refused in state Draft: missing …",
        "missing_fields": ["telephone", "opinion_date"],
        "missing_materials": ["signed_form"],
    }
    told = explain(422, problem, str)
    assert told.message == (
        f"{ERRORS['submission-incomplete'][0]} Missing fields: telephone, opinion_date."
        " Missing materials: signed_form."
    )
    assert told.detail == problem["detail"]
    chinese = explain(422, problem, _zh)
    assert "telephone、opinion_date" in chinese.message
    assert " " not in chinese.message  # Chinese sentences follow each other without a space


def test_a_failure_quotes_its_reference() -> None:
    problem = {"type": "about:blank", "status": 500, "request_id": "01JREQ"}
    told = explain(500, problem, _zh)
    assert told.next_step.startswith(_zh(FALLBACKS[500][1]))
    assert told.next_step.endswith(_zh(errors.QUOTE_REFERENCE).format(reference="01JREQ"))


class _Body(BaseModel):
    name: str
    paper_copies: int


async def test_real_problems_of_the_shared_handlers() -> None:
    """The problems `shared.problems` really answers, explained."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(body: _Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/forbidden")
    async def refuse() -> None:
        raise forbidden("This needs one of the roles: finance.", "role-required")

    @app.get("/refused")
    async def refused() -> None:
        raise DomainError("refused for a test")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        invalid = await client.post("/things", json={"paper_copies": "many"})
        told = explain(invalid.status_code, invalid.json(), str)
        assert (told.status, told.code) == (422, "invalid-request")
        assert told.message.endswith("Fields to correct: name, paper_copies.")

        malformed = await client.post(
            "/things", content=b"{", headers={"content-type": "application/json"}
        )
        told = explain(malformed.status_code, malformed.json(), str)
        assert (told.status, told.code) == (400, "malformed-json")
        assert "Fields" not in told.message

        role = await client.get("/forbidden")
        assert explain(role.status_code, role.json(), str).code == "role-required"

        domain = await client.get("/refused")
        told = explain(domain.status_code, domain.json(), _zh)
        message, next_step = ERRORS["domain-error"]
        assert told == Explanation(
            _zh(message), _zh(next_step), "domain-error", 409, "refused for a test"
        )


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_each_entry_is_explained_in_both_languages(code: str) -> None:
    chinese = explain(409, {"code": code}, _zh)
    english = explain(409, {"code": code}, str)
    assert (english.message, english.next_step) == ERRORS[code]
    assert _CJK.search(chinese.message)
    assert _CJK.search(chinese.next_step)
