"""A provincial work station (Notice §5(3)) is not a national base: its term is tracked only
under its province's own station policy; else it is recorded as not assessed, with the reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from services.assessment.domain.commands import ExpireWorkstation, RecordWorkstation
from services.assessment.domain.errors import (
    TermNotEnded,
    WorkstationAlreadyRecorded,
    WorkstationNotFound,
    WorkstationNotTracked,
)
from services.assessment.domain.events import (
    WorkstationExpired,
    WorkstationNotAssessed,
    WorkstationRegistered,
)
from services.assessment.domain.policy import StationPolicy
from services.assessment.domain.station import decider
from services.assessment.tests.examples import USER, cst
from shared.policy import PolicyBook
from shared.testkit.spec import spec

STATION, CASE = "station-01", "case-st-01"
RECORD = RecordWorkstation(
    station_id=STATION,
    case_id=CASE,
    unit_id="unit-qujing",
    unit_name="Qujing Economic Zone",
    province="53",
    jurisdiction="5303",
    certificate_no="云海智站-2022-001",
    approved_on=date(2022, 8, 1),
    policy=None,
    at=cst(2022, 8, 2),
    by="consumer:review",
)
NOT_ASSESSED = WorkstationNotAssessed(
    station_id=STATION,
    case_id=CASE,
    unit_id="unit-qujing",
    unit_name="Qujing Economic Zone",
    province="53",
    jurisdiction="5303",
    certificate_no="云海智站-2022-001",
    approved_on=date(2022, 8, 1),
    reason="省级工作站无考核政策 / no work-station assessment policy in province 53",
)
THREE_YEARS = StationPolicy(version="44-2022.1", term_years=3)
REGISTERED = WorkstationRegistered(
    station_id=STATION,
    case_id=CASE,
    unit_id="unit-qujing",
    unit_name="Qujing Economic Zone",
    province="53",
    jurisdiction="5303",
    certificate_no="云海智站-2022-001",
    approved_on=date(2022, 8, 1),
    term_start=date(2022, 8, 1),
    term_end=date(2025, 7, 31),
    policy_version="44-2022.1",
)


def test_without_a_provincial_station_policy_the_station_is_recorded_as_not_assessed() -> None:
    spec(decider).given().when(RECORD).then(NOT_ASSESSED)


def test_under_a_provincial_station_policy_its_term_is_tracked() -> None:
    spec(decider).given().when(replace(RECORD, policy=THREE_YEARS)).then(REGISTERED)


def test_a_redelivered_designation_decides_nothing() -> None:
    spec(decider).given(NOT_ASSESSED).when(RECORD).then()
    spec(decider).given(REGISTERED).when(replace(RECORD, policy=THREE_YEARS)).then()


def test_another_designation_on_the_same_stream_is_refused() -> None:
    command = replace(RECORD, case_id="case-other")
    spec(decider).given(NOT_ASSESSED).when(command).raises(WorkstationAlreadyRecorded)


def test_a_tracked_station_expires_after_its_last_day() -> None:
    on_last_day = ExpireWorkstation(STATION, cst(2025, 7, 31, 23, 59), "scheduler")
    spec(decider).given(REGISTERED).when(on_last_day).raises(TermNotEnded)
    after = ExpireWorkstation(STATION, cst(2025, 8, 1, 0, 0), "scheduler")
    expired = WorkstationExpired(STATION, CASE, date(2025, 8, 1), date(2025, 7, 31), "44-2022.1")
    spec(decider).given(REGISTERED).when(after).then(expired)
    spec(decider).given(REGISTERED, expired).when(after).then()


def test_a_station_not_assessed_has_no_term_to_end() -> None:
    command = ExpireWorkstation(STATION, cst(2030, 1, 1), USER)
    spec(decider).given(NOT_ASSESSED).when(command).raises(WorkstationNotTracked)
    spec(decider).given().when(command).raises(WorkstationNotFound)


def test_a_provincial_policy_configures_a_station_term_only_with_term_years() -> None:
    assert (
        StationPolicy.from_document("53-2022.1", {"workstation": {"certificate_series": "x"}})
        is None
    )
    assert StationPolicy.from_document("53-2022.1", {"subsidy": {}}) is None
    assert (
        StationPolicy.from_document("44-2022.1", {"workstation": {"term_years": 3}}) == THREE_YEARS
    )


def test_yunnan_s_own_policy_configures_no_station_term() -> None:
    book = PolicyBook.load(Path(__file__).resolve().parents[3] / "policies")
    yunnan = book.provincial("53", date(2022, 3, 1))
    assert yunnan is not None
    assert StationPolicy.from_document(yunnan.version, yunnan.sections) is None
