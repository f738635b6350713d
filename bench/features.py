"""Issue 17's features — PDF documents, search and exports — each against a same-run baseline.

Every ratio here is a COST ratio: our time per operation ÷ the baseline's (1 = as fast as the
baseline, 2 = twice its time), the median of the per-round ratios; `raw.cpu_us_per_op` gives
the CPU µs per operation of both sides (`time.process_time`: every thread of the process).

pdf_certificate_ms          ms per plaque certificate (牌匾证书): the review service's own
                            `CERTIFICATE.compose` (shared/documents.DocumentBuilder: metadata,
                            headings, the bordered table, signature lines, the QR code drawn as
                            vector squares, the page footer) from a realistic `BaseDesignated`.
pdf_certificate_time_ratio  ÷ the baseline: plain fpdf2 (`FPDF`, the same Noto Sans SC file
                            embedded by `add_font`, one page, `set_font` + `multi_cell` of each
                            text at its size) writing exactly the texts our layout draws
                            (recorded once from the real composition), nothing else.
pdf_annex2_ms               ms per Annex 2 form (附件2 申报表): the application service's
                            `FORM.compose` from a realistic `ApplicationSubmitted` (the
                            example unit 昆明理工大学's whole form).
pdf_annex2_time_ratio       ÷ the same kind of baseline, with the form's texts.
pdf_same_bytes_twice        1 when every generation of each document in the run gave the same
                            bytes (the documents promise it: an auditor regenerates and compares
                            hashes), else 0. Target ≥ 1.
search_p95_ms_sqlite        p95 ms of one search over the query mix (理工, 昆明, a credit code,
                            昆明理工大学, 区位优势, 南亚 孵化; each query equally often) on N
                            applications indexed by the application service's own
                            `SearchProjection` (their `ApplicationDrafted` and
                            `ApplicationSubmitted`), through `shared.search.wanted_terms` and
                            `matching` on the service's read engine: every matching id.
search_time_ratio_sqlite    ÷ the baseline: a plain `LIKE '%word%'` scan (one per word of the
                            query, ANDed) over a table of the same texts (unit name, credit code
                            and the four overview parts, one text column) in the same database,
                            through the same engine: every matching id. Median over passes of
                            the pass's time (every query once) ÷ the baseline's.
search_p95_ms_postgres,     the same on PostgreSQL (`features_pg`, with BENCH_DATABASE_URL), a
search_time_ratio_postgres  schema of its own; both tables `ANALYZE`d after loading.
export_csv_rows_per_s       rows/s of `shared.exports.render_csv` (Chinese headers, BOM, each
                            cell by its column's kind with the formula guard) of
                            `MAX_EXPORT_ROWS` (20,000, the cap) rows of the application list
                            export (`services.application.api.exports.APPLICATION_COLUMNS`).
export_csv_time_ratio       ÷ Python's `csv.writer` writing the same values (the column keys as
                            headers, no BOM, no guard) to the same kind of buffer, as bytes.
export_xlsx_rows_per_s      rows/s of `render_xlsx` (openpyxl write-only, fixed times) of the
                            same rows.
export_xlsx_time_ratio      ÷ openpyxl's write-only workbook appending the same values (no
                            formats, no guard, no fixed times) and saved to bytes.

Per-query figures (found, median, p95, CPU µs, ratio) are in `raw` and printed as a table.
Documents and exports run their work on the event loop's thread, one at a time (the services
hand them to a worker thread; the cost is the same).
"""

from __future__ import annotations

import csv
import functools
import gc
import hashlib
import io
import os
import random
import re
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pylopdf_fonts_zh_cn
from fpdf import FPDF
from fpdf.enums import XPos
from sqlalchemy import text

from haizhi.people import KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY, QUJING_EDZ, Unit
from services.application.api.exports import APPLICATION_COLUMNS
from services.application.domain import events as application_events
from services.application.domain.form import (
    KINDS as FORM_KINDS,
)
from services.application.domain.form import ApplicationForm, clean, decode, digest, entries
from services.application.projections.search import OVERVIEW, SearchProjection, search_terms
from services.application.usecases import documents as application_documents
from services.review.domain import events as review_events
from services.review.usecases import documents as review_documents
from shared.db import Database
from shared.documents import FONT, Cell, DocumentBuilder
from shared.envelope import GENESIS, Envelope
from shared.exports import MAX_EXPORT_ROWS, Sheet, render_csv, render_xlsx
from shared.migrate import upgrade
from shared.search import matching, wanted_terms

from .common import (
    NOW,
    Env,
    Figure,
    Sizes,
    Stopwatch,
    cpu_per_op,
    interleave,
    paired,
    percentile,
)

APPLICATION_MIGRATIONS = (
    Path(__file__).resolve().parent.parent / "services" / "application" / "migrations" / "versions"
)
CREATED = datetime(2022, 8, 25, 2, 0, tzinfo=UTC)  # a document's time: its fact's, fixed
CONSOLE = "https://haizhi.example.cn"  # the public URL the certificate's QR code prints


@dataclass(frozen=True)
class FeatureSizes:
    """The group's own sizes; `--full` (the bench's `Sizes.full()`) takes the larger set."""

    documents: int = 2  # documents of each kind per trial
    applications: int = 1_000  # applications indexed for search
    search_passes: int = 20  # measured passes over the query mix (after one warm-up pass)
    export_rows: int = MAX_EXPORT_ROWS  # rows per export: the cap

    @classmethod
    def of(cls, sizes: Sizes) -> FeatureSizes:
        if sizes == Sizes.full():
            return cls(documents=4, applications=5_000, search_passes=40)
        return cls()


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# ---------------------------------------------------------------------------- documents


def certificate_events() -> list[Any]:
    """What the review service's certificate is made of: the designation of 昆明理工大学."""
    return [
        review_events.BaseDesignated(
            review_id="01HZREVIEW0000000000000001",
            application_id="01HZAPPLICATION00000000001",
            case_id="01HZCASE000000000000000001",
            base_id="01HZBASE000000000000000001",
            programme=review_events.Programme.NATIONAL_BASE,
            unit_id=KMUST.unit_id,
            unit_name=KMUST.name,
            province="53",
            jurisdiction=KMUST.jurisdiction,
            approval_no="科协办函〔2022〕14号",
            certificate_no="HZJD-2022-0001",
            plaque_name="中国科协海智计划工作基地",
            approved_on=date(2022, 8, 25),
            term_start=date(2022, 9, 1),
            term_end=date(2025, 8, 31),
            policy_version="2022.1",
            by="zhoumin",
            at=CREATED,
            call_id="01HZCALL000000000000000001",
            call_opened_on=date(2022, 3, 1),
        )
    ]


def form_events(unit: Unit = KMUST) -> list[Any]:
    """What the application service's Annex 2 form is made of: the unit's whole submission."""
    given = unit.form().items()
    typed = {k: decode(FORM_KINDS[k], v) if isinstance(v, str) else v for k, v in given}
    cleaned, invalid = clean(typed)  # as the API hands the JSON form to the decider
    if invalid:
        raise AssertionError(f"the example form has invalid fields: {invalid}")
    form = ApplicationForm(**cleaned)  # type: ignore[arg-type]
    return [
        application_events.ApplicationSubmitted(
            application_id="01HZAPPLICATION00000000001",
            case_id="01HZCASE000000000000000001",
            call_id="01HZCALL000000000000000001",
            programme=application_events.Programme.NATIONAL_BASE,
            unit_id=unit.unit_id,
            unit_name=unit.name,
            category=application_events.Category(unit.category),
            province="53",
            jurisdiction=unit.jurisdiction,
            route=application_events.Route(unit.route),
            revision=1,
            form_hash=digest(form),
            files=(),
            linked_case_id=None,
            form=entries(form),
            submitted_at=datetime(2022, 3, 15, 8, 0, tzinfo=UTC),
            call_opened_on=date(2022, 3, 1),
            level=application_events.Level(unit.level),
            credit_code=unit.credit_code,
        )
    ]


Compose = Callable[[Sequence[Any], datetime, str], Any]
_PAGE = re.compile(rb"/Type\s*/Page(?![a-z])")


def laid_out_texts(
    module: ModuleType, compose: Compose, events: Sequence[Any], link: str
) -> list[tuple[float, str]]:
    """(font size, text) of every text our layout draws for this document, in order: the
    composition run once with a `DocumentBuilder` that notes each text before laying it out
    (the service module's name for the builder swapped for the run, then restored)."""
    seen: list[tuple[float, str]] = []

    class Noting(DocumentBuilder):
        def heading(self, text: str, *, size: float = 18) -> None:
            seen.append((size, text))
            super().heading(text, size=size)

        def paragraph(self, text: str, *, size: float = 12, align: str = "L") -> None:
            seen.append((size, text))
            super().paragraph(text, size=size, align=align)

        def table(self, rows: Sequence[Sequence[Cell]], widths: Sequence[float]) -> None:
            seen.extend((11, cell.text) for row in rows for cell in row if cell.text)
            super().table(rows, widths)

        def signatures(self, lines: Sequence[str], *, size: float = 12) -> None:
            seen.extend((size, line) for line in lines)
            super().signatures(lines, size=size)

        def qr(self, data: str, *, size: float = 32, caption: str | None = None) -> None:
            if caption is not None:
                seen.append((9, caption))
            super().qr(data, size=size, caption=caption)

    original = getattr(module, "DocumentBuilder")  # noqa: B009
    setattr(module, "DocumentBuilder", Noting)  # noqa: B010
    try:
        compose(events, CREATED, link)
    finally:
        setattr(module, "DocumentBuilder", original)  # noqa: B010
    return seen


def plain_pdf(texts: Sequence[tuple[float, str]]) -> bytes:
    """The baseline: fpdf2 writing the same texts with the same embedded font, no layout."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font(FONT, "", str(pylopdf_fonts_zh_cn.sans_path()))
    pdf.add_page()
    for size, line in texts:
        pdf.set_font(FONT, size=size)
        pdf.multi_cell(0, size * 0.6, line, new_x=XPos.LMARGIN)
    return bytes(pdf.output())


def font_load() -> bytes:
    """fpdf2 loading the font alone (`add_font` parses the 8 MB OpenType file), nothing saved."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font(FONT, "", str(pylopdf_fonts_zh_cn.sans_path()))
    return b""


async def interleave_fine(trials: dict[str, Any], rounds: int) -> dict[str, Any]:
    """`common.interleave` for slow operations: the same rounds (one warm-up, the order
    alternating, a collected heap before each trial), the rates kept to four significant
    digits (a document takes a quarter of a second: `interleave`'s 0.1/s would blur it), and
    the median ms per operation."""
    names = list(trials)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for index in range(1 + rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            gc.collect()
            done, wall, spent = await trials[name]()
            if index:
                seconds[name].append(wall / done)
                cpu[name].append(spent / done * 1e6)
    return {
        name: {
            "per_s": float(f"{1 / statistics.median(seconds[name]):.4g}"),
            "rounds": [float(f"{1 / v:.4g}") for v in seconds[name]],
            "ms_per_op": round(statistics.median(seconds[name]) * 1000, 1),
            "ms_rounds": [round(v * 1000, 1) for v in seconds[name]],
            "cpu_us_per_op": round(statistics.median(cpu[name]), 1),
            "cpu_us_rounds": [round(v, 1) for v in cpu[name]],
        }
        for name in names
    }


def _content(compose: Compose, events: Sequence[Any], link: str) -> bytes:
    content: bytes = compose(events, CREATED, link).content
    return content


def _trial(n: int, make: Callable[[], bytes], seen: set[bytes] | None = None) -> Any:
    async def run() -> tuple[int, float, float]:
        made: list[bytes] = []
        with Stopwatch() as watch:
            for _ in range(n):
                made.append(make())
        if seen is not None:
            seen.update(made)
        return watch.done(n)

    return run


async def document_figures(env: Env, sizes: FeatureSizes) -> dict[str, Figure]:
    certificate = certificate_events()
    link = review_documents.CERTIFICATE.link(certificate, CONSOLE)
    form = form_events()
    kinds: dict[str, tuple[ModuleType, Compose, list[Any], str]] = {
        "certificate": (review_documents, review_documents.CERTIFICATE.compose, certificate, link),
        "annex2": (application_documents, application_documents.FORM.compose, form, ""),
    }
    trials: dict[str, Any] = {}
    outputs: dict[str, set[bytes]] = {}
    texts: dict[str, list[tuple[float, str]]] = {}
    for name, (module, compose, events, printed) in kinds.items():
        texts[name] = laid_out_texts(module, compose, events, printed)
        outputs[name] = set()

        trials[name] = _trial(
            sizes.documents, functools.partial(_content, compose, events, printed), outputs[name]
        )
        trials[f"{name}_plain_fpdf2"] = _trial(
            sizes.documents, functools.partial(plain_pdf, texts[name])
        )
    trials["font_load"] = _trial(sizes.documents, font_load)
    load_before = _load()
    rates = await interleave_fine(trials, env.sizes.rounds)
    load_after = _load()
    same = all(len(made) == 1 for made in outputs.values())
    shared_raw: dict[str, Any] = {
        "documents_per_s": rates,
        "documents_per_trial": sizes.documents,
        "rounds": env.sizes.rounds,
        "load_average_before": load_before,
        "load_average_at_end": load_after,
    }
    figures: dict[str, Figure] = {}
    table = [
        f"{'document':<12} {'ms':>7} {'CPU ms':>7} {'plain ms':>9} {'plain CPU':>9}"
        f" {'ratio':>6} {'pages':>5} {'KB':>6} {'texts':>5}",
    ]
    for name in kinds:
        base = f"{name}_plain_fpdf2"
        content = next(iter(outputs[name]))
        plain = plain_pdf(texts[name])
        detail = {
            **shared_raw,
            "cpu_us_per_op": cpu_per_op(rates, name, base),
            "ms_per_document": rates[name]["ms_per_op"],
            "baseline_ms_per_document": rates[base]["ms_per_op"],
            "font_load_ms": rates["font_load"]["ms_per_op"],
            "font_load_cpu_us": rates["font_load"]["cpu_us_per_op"],
            "bytes": len(content),
            "baseline_bytes": len(plain),
            "pages": len(_PAGE.findall(content)),
            "texts_drawn": len(texts[name]),
            "characters_drawn": sum(len(line) for _, line in texts[name]),
            "identical_bytes_every_generation": len(outputs[name]) == 1,
            "distinct_outputs": len(outputs[name]),
        }
        ratio = paired(rates, base, name)
        cpu = detail["cpu_us_per_op"]
        table.append(
            f"{name:<12} {detail['ms_per_document']:>7.1f} {(cpu['ours'] or 0) / 1000:>7.1f}"
            f" {detail['baseline_ms_per_document']:>9.1f} {(cpu['baseline'] or 0) / 1000:>9.1f}"
            f" {ratio or 0:>6.3f} {detail['pages']:>5} {len(content) / 1024:>6.1f}"
            f" {len(texts[name]):>5}"
        )
        figures[f"pdf_{name}_ms"] = (detail["ms_per_document"], detail)
        figures[f"pdf_{name}_time_ratio"] = (ratio, dict(detail))
    table.append(
        f"of each, fpdf2's add_font of the 8 MB font alone: {rates['font_load']['ms_per_op']:.1f}"
        f" ms, {rates['font_load']['cpu_us_per_op'] / 1000:.1f} CPU ms"
    )
    figures["pdf_certificate_ms"][1]["table"] = table
    figures["pdf_same_bytes_twice"] = (
        1.0 if same else 0.0,
        {
            name: {
                "identical": len(outputs[name]) == 1,
                "generations": sizes.documents * (env.sizes.rounds + 1),
                "distinct_outputs": len(outputs[name]),
                "sha256": sorted(hashlib.sha256(b).hexdigest() for b in outputs[name]),
            }
            for name in kinds
        },
    )
    return figures


# ---------------------------------------------------------------------------- search

PLACES = (
    "昆明", "曲靖", "玉溪", "保山", "昭通", "丽江", "普洱", "临沧", "楚雄",
    "红河", "文山", "西双版纳", "大理", "德宏", "怒江", "迪庆", "云南",
)  # fmt: skip
FIELDS = (
    "", "光电", "新材料", "生物医药", "信息", "农业", "冶金", "能源", "环境", "机械", "化工",
    "电子",
)  # fmt: skip
KINDS = (
    ("理工大学", "university"), ("大学", "university"), ("学院", "university"),
    ("职业技术学院", "university"), ("高新技术产业开发区管理委员会", "park"),
    ("经济技术开发区管理委员会", "park"), ("科技有限公司", "enterprise"),
    ("研究院", "research_institute"), ("科学技术协会", "prefecture_cast"),
    ("理工学院", "university"), ("工程技术研究中心", "research_institute"),
    ("产业园区管理委员会", "park"), ("医学院", "university"), ("农业科学院", "research_institute"),
)  # fmt: skip
PARTNERS = (
    "泰国科学技术协会", "越南科学技术联合会", "老挝国家科学院", "缅甸工程学会",
    "印度尼西亚科学院", "马来西亚科学院", "孟加拉国科学院", "斯里兰卡国家科学基金会",
    "尼泊尔科学技术学院", "新加坡科技研究局",
)  # fmt: skip
DOMAINS = (
    "生物医药", "新材料", "现代农业", "信息技术", "清洁能源", "有色金属", "高原特色农业",
    "环境保护",
)  # fmt: skip
#: Sentences of each overview part (概述), as units write them; `{…}` filled per application.
SENTENCES: dict[str, tuple[str, ...]] = {
    "overview_basic_conditions": (
        "拥有省级重点实验室{k}个、工程技术研究中心{m}个。",
        "建有留学人员创业园和科技企业孵化器，面积{a}平方米。",
        "与{partner}等海外科技团体签订了合作协议。",
        "制定了海外人才引进、项目对接和经费管理制度。",
        "近三年承担国家级科研项目{k}项，省部级项目{m}项。",
    ),
    "overview_advantages": (
        "地处面向南亚东南亚辐射中心，具有独特的区位优势。",
        "与东南亚、南亚多国科技组织保持长期合作。",
        "在{domain}领域形成了较强的学科和产业优势。",
        "拥有一支熟悉国际合作的专业人才队伍。",
        "地方政府出台了支持海外人才创新创业的配套政策。",
        "区位优势明显，交通便利，对外开放程度高。",
    ),
    "overview_description": (
        "依托重点实验室和产业园区引进海外人才和项目。",
        "近年来举办海外人才创新创业大赛{k}届，孵化企业{m}家。",
        "建立了海外专家工作站，开展技术咨询和联合攻关。",
        "与{partner}共建联合研究中心，推动科技成果转化。",
        "通过孵化器为海外留学人员提供场地和融资服务。",
    ),
    "overview_expected_goals": (
        "三年内引进海外高层次人才{n}名，落地合作项目{k}项。",
        "建成面向南亚东南亚的国际科技合作平台。",
        "孵化海外人才创办的科技型企业{k}家。",
        "培养国际化科技人才{n}名，举办国际学术交流活动{k}次。",
        "推动{domain}产业技术升级，新增产值{a}万元。",
    ),
}


@dataclass(frozen=True)
class Applicant:
    application_id: str
    unit_id: str
    unit_name: str
    credit_code: str
    category: str
    jurisdiction: str
    overview: dict[str, str]

    @property
    def body(self) -> str:
        """The baseline's one text column: what the search finds an application by."""
        return "\n".join([self.unit_name, self.credit_code, *self.overview.values()])


def applicants(n: int, seed: int = 17) -> list[Applicant]:
    """N applications: the Yunnan example's four units first (昆明理工大学 among them), then
    units named place + field + kind, each with an overview of one or two sentences a part.
    The same N gives the same applications."""
    rng = random.Random(seed)
    known = [KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY, QUJING_EDZ]
    out: list[Applicant] = []
    for i in range(n):
        if i < len(known):
            unit = known[i]
        else:
            place, field = rng.choice(PLACES), rng.choice(FIELDS)
            kind, category = rng.choice(KINDS)
            jurisdiction = "53" + f"{rng.randrange(1, 35):02d}"
            unit = Unit.of(
                f"unit-{i:05d}",
                f"{place}{field}{kind}",
                category,
                jurisdiction,
                address=f"云南省{place}市",
                postcode="650000",
                contact=(f"u{i}", "联系人"),
            )
        values = {
            "k": rng.randrange(2, 12),
            "m": rng.randrange(1, 8),
            "n": rng.randrange(10, 60),
            "a": rng.randrange(500, 20_000),
            "partner": rng.choice(PARTNERS),
            "domain": rng.choice(DOMAINS),
        }
        overview: dict[str, str] = {}
        for part in OVERVIEW:
            chosen = rng.sample(SENTENCES[part], rng.choice((1, 2)))
            if part == "overview_basic_conditions":
                staff = rng.randrange(3, 12)
                chosen = [f"{unit.name}设有海智工作办公室，配备专兼职人员{staff}名。", *chosen]
            overview[part] = "".join(s.format(**values) for s in chosen)
        out.append(
            Applicant(
                application_id=f"01HZ{i:022d}",
                unit_id=unit.unit_id,
                unit_name=unit.name,
                credit_code=unit.credit_code,
                category=unit.category,
                jurisdiction=unit.jurisdiction,
                overview=overview,
            )
        )
    return out


QUERIES: tuple[tuple[str, str], ...] = (
    ("理工", "two CJK characters"),
    ("昆明", "a place"),
    (KMUST.credit_code, "a credit code"),
    ("昆明理工大学", "a whole name"),
    ("区位优势", "an overview phrase"),
    ("南亚 孵化", "two overview words"),
)

_NOTE = Envelope(  # the envelope the projection is handed (it reads only the event)
    id="01HZENVELOPE00000000000001",
    source="/haizhi/application",
    type="haizhi.application.ApplicationSubmitted.v1",
    subject="application-bench",
    time=NOW,
    data={},
    streamversion=1,
    caseid="bench-case",
    correlationid="bench",
    causationid=None,
    actor="bench",
    policyversion=None,
    prevhash=GENESIS,
    hash="",
)


def _events(a: Applicant, form: tuple[Any, ...]) -> tuple[Any, Any]:
    common: dict[str, Any] = {
        "application_id": a.application_id,
        "case_id": a.application_id,
        "call_id": "01HZCALL000000000000000001",
        "programme": application_events.Programme.NATIONAL_BASE,
        "unit_id": a.unit_id,
        "unit_name": a.unit_name,
        "category": application_events.Category(a.category),
        "province": "53",
        "jurisdiction": a.jurisdiction,
        "linked_case_id": None,
        "credit_code": a.credit_code,
    }
    drafted = application_events.ApplicationDrafted(**common, level=None)
    overview = tuple(application_events.FormEntry(k, v) for k, v in a.overview.items())
    submitted = application_events.ApplicationSubmitted(
        **common,
        route=application_events.Route.DIRECT,
        revision=1,
        form_hash="0" * 64,
        files=(),
        form=form + overview,
        submitted_at=NOW,
        level=application_events.Level.PROVINCIAL,
    )
    return drafted, submitted


async def load_search(db: Database, n: int) -> dict[str, Any]:
    """The application read models' tables (the service's migrations), N applications indexed
    by the real `SearchProjection` (drafted, then submitted: its two writes per application),
    and the baseline's table of the same texts. Timed, for the record; not a figure."""
    await upgrade(db, [APPLICATION_MIGRATIONS])
    rest = tuple(e for e in form_events()[0].form if e.field not in OVERVIEW)
    people = applicants(n)
    projection = SearchProjection()
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE bench_search_plain ("
                "application_id VARCHAR(26) PRIMARY KEY, body TEXT NOT NULL)"
            )
        )
    index, plain = Stopwatch(), Stopwatch()  # summed over the batches below
    for start in range(0, n, 250):
        batch = people[start : start + 250]
        with Stopwatch() as watch:
            async with db.engine.begin() as conn:
                for a in batch:
                    for event in _events(a, rest):
                        await projection.apply(conn, _NOTE, event)
        index.seconds += watch.seconds
        index.cpu += watch.cpu
        with Stopwatch() as watch:
            async with db.engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO bench_search_plain VALUES (:application_id, :body)"),
                    [{"application_id": a.application_id, "body": a.body} for a in batch],
                )
        plain.seconds += watch.seconds
        plain.cpu += watch.cpu
    async with db.engine.begin() as conn:
        if not db.is_sqlite:  # PostgreSQL's autovacuum would; SQLite keeps no statistics
            await conn.execute(text("ANALYZE search_terms"))
            await conn.execute(text("ANALYZE bench_search_plain"))
        rows = (await conn.execute(text("SELECT count(*) FROM search_terms"))).scalar_one()
    return {
        "applications": n,
        "term_rows": rows,
        "term_rows_per_application": round(rows / n, 1),
        "overview_characters_per_application": round(
            statistics.mean(sum(len(v) for v in a.overview.values()) for a in people), 1
        ),
        "index_ms_per_application": round(index.seconds / n * 1000, 3),
        "index_cpu_us_per_application": round(index.cpu / n * 1e6, 1),
        "plain_insert_cpu_us_per_application": round(plain.cpu / n * 1e6, 1),
    }


Search = Callable[[str], Awaitable[list[str]]]


def searches(db: Database) -> dict[str, Search]:
    """Ours and the baseline, each from the query text to every matching id, on the service's
    read engine (as `Queries` reads)."""

    async def terms(query: str) -> list[str]:
        statement = matching(search_terms, "application", wanted_terms(query))
        async with db.read_engine.connect() as conn:
            return [str(found) for found in (await conn.execute(statement)).scalars()]

    async def like(query: str) -> list[str]:
        words = query.split()
        where = " AND ".join(f"body LIKE :w{i}" for i in range(len(words)))
        params = {f"w{i}": f"%{word}%" for i, word in enumerate(words)}
        statement = text(f"SELECT application_id FROM bench_search_plain WHERE {where}")
        async with db.read_engine.connect() as conn:
            return list((await conn.execute(statement, params)).scalars().all())

    return {"terms": terms, "like": like}


async def search_figures(db: Database, sizes: FeatureSizes, database: str) -> dict[str, Figure]:
    load_before = _load()
    loaded = await load_search(db, sizes.applications)
    sides = searches(db)
    found: dict[str, dict[str, Any]] = {}
    for query, _ in QUERIES:
        by_terms, by_like = set(await sides["terms"](query)), set(await sides["like"](query))
        found[query] = {
            "terms": len(by_terms),
            "like": len(by_like),
            "like_within_terms": by_like <= by_terms,  # pairs anywhere ⊇ the exact substring
        }
    wall: dict[str, dict[str, list[float]]] = {q: {"terms": [], "like": []} for q, _ in QUERIES}
    cpu: dict[str, dict[str, list[float]]] = {q: {"terms": [], "like": []} for q, _ in QUERIES}
    passes: dict[str, dict[str, list[float]]] = {
        side: {"rounds": [], "cpu_us_rounds": []} for side in sides
    }
    for index in range(1 + sizes.search_passes):
        gc.collect()
        order = ("terms", "like") if index % 2 == 0 else ("like", "terms")
        spent = {side: [0.0, 0.0] for side in sides}
        for query, _ in QUERIES:
            for side in order:
                with Stopwatch() as watch:
                    await sides[side](query)
                spent[side][0] += watch.seconds
                spent[side][1] += watch.cpu
                if index:
                    wall[query][side].append(watch.seconds * 1000)
                    cpu[query][side].append(watch.cpu * 1e6)
        if index:
            for side, (seconds, cpu_seconds) in spent.items():
                passes[side]["rounds"].append(round(len(QUERIES) / seconds, 1))
                passes[side]["cpu_us_rounds"].append(round(cpu_seconds / len(QUERIES) * 1e6, 1))
    rates: dict[str, Any] = {
        side: {
            "per_s": round(statistics.median(p["rounds"]), 1),
            "rounds": p["rounds"],
            "cpu_us_per_op": round(statistics.median(p["cpu_us_rounds"]), 1),
            "cpu_us_rounds": p["cpu_us_rounds"],
        }
        for side, p in passes.items()
    }
    per_query: dict[str, Any] = {}
    table = [
        f"{'query':<20} {'found':>11} {'ms p50':>7} {'ms p95':>7} {'CPU µs':>7}"
        f" {'LIKE p50':>8} {'LIKE p95':>8} {'LIKE µs':>8} {'ratio':>6}",
    ]
    for query, what in QUERIES:
        ours, theirs = wall[query]["terms"], wall[query]["like"]
        pairs = [a / b for a, b in zip(ours, theirs, strict=True) if b]
        entry: dict[str, Any] = {
            "what": what,
            "found": found[query],
            "terms_ms": {"p50": _r(statistics.median(ours)), "p95": _r(percentile(ours, 0.95))},
            "like_ms": {"p50": _r(statistics.median(theirs)), "p95": _r(percentile(theirs, 0.95))},
            "cpu_us": {
                "terms": round(statistics.median(cpu[query]["terms"]), 1),
                "like": round(statistics.median(cpu[query]["like"]), 1),
            },
            "time_ratio": round(statistics.median(pairs), 3) if pairs else None,
        }
        per_query[query] = entry
        shown = f"{found[query]['terms']}/{found[query]['like']}"
        table.append(
            f"{query:<{20 - _wide(query)}} {shown:>11} {entry['terms_ms']['p50']:>7.2f}"
            f" {entry['terms_ms']['p95']:>7.2f} {entry['cpu_us']['terms']:>7.0f}"
            f" {entry['like_ms']['p50']:>8.2f} {entry['like_ms']['p95']:>8.2f}"
            f" {entry['cpu_us']['like']:>8.0f} {entry['time_ratio'] or 0:>6.3f}"
        )
    table.append("(found: ours / LIKE; ratio: ours ÷ LIKE, median of the back-to-back pairs)")
    every = [ms for q, _ in QUERIES for ms in wall[q]["terms"]]
    every_like = [ms for q, _ in QUERIES for ms in wall[q]["like"]]
    detail: dict[str, Any] = {
        "database": database,
        "queries_per_s": rates,
        "cpu_us_per_op": cpu_per_op(rates, "terms", "like"),
        "mix_ms": {
            "terms": {"p50": _r(statistics.median(every)), "p95": _r(percentile(every, 0.95))},
            "like": {
                "p50": _r(statistics.median(every_like)),
                "p95": _r(percentile(every_like, 0.95)),
            },
        },
        "per_query": per_query,
        "passes": sizes.search_passes,
        "loaded": loaded,
        "load_average_before": load_before,
        "load_average_at_end": _load(),
        "table": table,
    }
    suffix = "sqlite" if database == "sqlite" else "postgres"
    return {
        f"search_p95_ms_{suffix}": (detail["mix_ms"]["terms"]["p95"], detail),
        f"search_time_ratio_{suffix}": (
            paired(rates, "like", "terms"),
            {k: v for k, v in detail.items() if k != "table"},
        ),
    }


def _r(ms: float) -> float:
    return round(ms, 3)


def _wide(query: str) -> int:
    """How many more columns than characters a query takes in a terminal (CJK: two each)."""
    return sum(1 for ch in query if ord(ch) > 0x2E7F)


# ---------------------------------------------------------------------------- exports

STATUSES = ("submitted", "submitted", "submitted", "returned", "designated", "rejected")


def export_rows(n: int, seed: int = 17) -> list[dict[str, Any]]:
    """N rows as the application list's query hands them to its export (its columns)."""
    rng = random.Random(seed)
    people = applicants(min(n, 2_000), seed)
    rows = []
    for i in range(n):
        a = people[i % len(people)]
        status = rng.choice(STATUSES)
        rows.append(
            {
                "application_id": f"01HZ{i:022d}",
                "unit_name": a.unit_name,
                "credit_code": a.credit_code,
                "category": a.category,
                "level": rng.choice(("provincial", "prefecture", "central")),
                "province": "53",
                "jurisdiction": a.jurisdiction,
                "programme": "national_base",
                "route": rng.choice(("direct", "via_prefecture")),
                "status": status,
                "revision": rng.choice((1, 1, 1, 2)),
                "call_id": f"01HZCALL{2018 + i % 8:018d}",
                "base_id": f"01HZBASE{i:018d}" if status == "designated" else None,
                "updated_at": f"2022-0{1 + i % 9}-1{i % 10}T08:{i % 60:02d}:00.000000Z",
            }
        )
    return rows


def plain_csv(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow([row.get(k) for k in keys])
    return out.getvalue().encode()


def plain_xlsx(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet("applications")
    ws.append(list(keys))
    for row in rows:
        ws.append([row.get(k) for k in keys])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def differing_members(outputs: set[bytes]) -> dict[str, list[str]]:
    """Which members of the workbooks differ from the first one's, and their differing XML
    elements' text (e.g. a time stamped at saving)."""
    import zipfile

    first, *others = sorted(outputs)
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(first)) as a:
        for other in others:
            with zipfile.ZipFile(io.BytesIO(other)) as b:
                for name in a.namelist():
                    left, right = a.read(name), b.read(name)
                    if left != right:
                        tags = re.findall(rb">([^<>]*)</", left)
                        theirs = re.findall(rb">([^<>]*)</", right)
                        seen = found.setdefault(name, [])
                        seen += [
                            f"{x.decode()} / {y.decode()}"
                            for x, y in zip(tags, theirs, strict=False)
                            if x != y
                        ]
    return found


async def export_figures(env: Env, sizes: FeatureSizes) -> dict[str, Figure]:
    rows = export_rows(sizes.export_rows)
    sheet = Sheet("applications", "申报列表", APPLICATION_COLUMNS, rows)
    keys = [c.key for c in APPLICATION_COLUMNS]
    made: dict[str, set[bytes]] = {"csv": set(), "xlsx": set()}
    size: dict[str, int] = {}

    def trial(name: str, render: Callable[[], bytes], keep: bool) -> Any:
        async def run() -> tuple[int, float, float]:
            with Stopwatch() as watch:
                body = render()
            size[name] = len(body)
            if keep:
                made[name].add(body)
            return watch.done(len(rows))

        return run

    load_before = _load()
    rates = await interleave(
        {
            "csv": trial("csv", lambda: render_csv(sheet), True),
            "csv_module": trial("csv_module", lambda: plain_csv(rows, keys), False),
            "xlsx": trial("xlsx", lambda: render_xlsx(sheet), True),
            "xlsx_openpyxl": trial("xlsx_openpyxl", lambda: plain_xlsx(rows, keys), False),
        },
        env.sizes.rounds,
    )
    shared_raw: dict[str, Any] = {
        "rows_per_s": rates,
        "rows": len(rows),
        "columns": len(keys),
        "export": "the application list (APPLICATION_COLUMNS: text and integer columns)",
        "bytes": size,
        "identical_bytes_every_render": {k: len(v) == 1 for k, v in made.items()},
        "distinct_outputs": {k: len(v) for k, v in made.items()},
        "xlsx_members_differing": differing_members(made["xlsx"]) if len(made["xlsx"]) > 1 else {},
        "rounds": env.sizes.rounds,
        "load_average_before": load_before,
        "load_average_at_end": _load(),
    }
    table = [
        f"{'export':<6} {'rows/s':>9} {'CPU µs/row':>10} {'base rows/s':>11}"
        f" {'base µs/row':>11} {'ratio':>6} {'KB':>7}",
    ]
    figures: dict[str, Figure] = {}
    for name, base in (("csv", "csv_module"), ("xlsx", "xlsx_openpyxl")):
        detail: dict[str, Any] = {**shared_raw, "cpu_us_per_op": cpu_per_op(rates, name, base)}
        ratio = paired(rates, base, name)
        figures[f"export_{name}_rows_per_s"] = (rates[name]["per_s"], detail)
        figures[f"export_{name}_time_ratio"] = (ratio, dict(detail))
        cpu = detail["cpu_us_per_op"]
        table.append(
            f"{name:<6} {rates[name]['per_s']:>9,.0f} {cpu['ours'] or 0:>10.1f}"
            f" {rates[base]['per_s']:>11,.0f} {cpu['baseline'] or 0:>11.1f}"
            f" {ratio or 0:>6.3f} {size[name] / 1024:>7.0f}"
        )
    for name, outputs in made.items():
        table.append(
            f"{name}: the same bytes at every render of the run: "
            + ("yes" if len(outputs) == 1 else f"NO, {len(outputs)} different files")
        )
    for member, values in shared_raw["xlsx_members_differing"].items():
        table.append(f"  xlsx {member} differs: {'; '.join(sorted(set(values)))}")
    figures["export_csv_rows_per_s"][1]["table"] = table
    return figures


# ---------------------------------------------------------------------------- the groups


async def figures(env: Env) -> dict[str, Figure]:
    """Documents, search on SQLite and exports."""
    sizes = FeatureSizes.of(env.sizes)
    found: dict[str, Figure] = {}
    found.update(await document_figures(env, sizes))
    async with env.sqlite("features-search") as db:
        found.update(await search_figures(db, sizes, "sqlite"))
    found.update(await export_figures(env, sizes))
    for _, raw in found.values():
        raw.setdefault("sizes", asdict(sizes))
    return found


async def postgres_figures(env: Env) -> dict[str, Figure]:
    """Search on PostgreSQL, a schema of its own."""
    sizes = FeatureSizes.of(env.sizes)
    async with env.postgres("features_search") as db:
        found = await search_figures(db, sizes, "postgresql")
    for _, raw in found.values():
        raw.setdefault("sizes", asdict(sizes))
    return found
