"""A unit's registration: registered once, amended, verified or returned by its own CAST."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.application.domain.commands import (
    AmendUnitRegistration,
    RegisterUnit,
    Registration,
    ReturnUnitRegistration,
    UnitSnapshot,
    VerifyUnit,
)
from services.application.domain.errors import (
    CreditCodeRegistered,
    InvalidCreditCode,
    InvalidRegistration,
    NotTheUnitsCast,
    UnitAlreadyRegistered,
    UnitNotFound,
    UnitNotPending,
)
from services.application.domain.events import (
    Category,
    Contact,
    Level,
    Office,
    UnitRegistered,
    UnitRegistrationAmended,
    UnitRegistrationReturned,
    UnitStatus,
    UnitVerified,
)
from services.application.domain.unit import (
    Verified,
    credit_code_check_char,
    credit_code_problem,
    decider,
    office_for,
    snapshot,
)
from shared.testkit.spec import spec

NOW = datetime(2022, 3, 1, 2, 0, tzinfo=UTC)
CODE = "91530100MA6K5J8X2A"
CONTACT = Contact("张三", "0871-68000000", "haizhi@example.cn")
KMU = Registration(  # 昆明学院: a university the city owns
    name="昆明学院",
    credit_code=CODE,
    category=Category.UNIVERSITY,
    level=Level.PREFECTURE,
    jurisdiction="5301",
    contacts=(CONTACT,),
    address="昆明市经开区浦新路2号",
)
REGISTER = RegisterUnit("unit-kmu", KMU, NOW, by="clerk", by_org="unit-kmu")
REGISTERED = UnitRegistered(
    "unit-kmu", "昆明学院", CODE, Category.UNIVERSITY, Level.PREFECTURE, "53", "5301",
    (CONTACT,), "昆明市经开区浦新路2号",
)  # fmt: skip
VERIFY = VerifyUnit("unit-kmu", Office.PREFECTURE, NOW, by="km-cast", opinion="属实")
VERIFIED = UnitVerified("unit-kmu", "53", "5301", Level.PREFECTURE, Office.PREFECTURE, "属实")
RETURN = ReturnUnitRegistration("unit-kmu", Office.PREFECTURE, ("代码有误",), NOW, by="km-cast")
RETURNED = UnitRegistrationReturned("unit-kmu", Office.PREFECTURE, ("代码有误",))


def amend(**changes: object) -> AmendUnitRegistration:
    return AmendUnitRegistration("unit-kmu", NOW, "clerk", "unit-kmu", **changes)  # type: ignore[arg-type]


def amended(status: UnitStatus, **changes: object) -> UnitRegistrationAmended:
    base = UnitRegistrationAmended(
        "unit-kmu", "昆明学院", CODE, Category.UNIVERSITY, Level.PREFECTURE, "53", "5301",
        (CONTACT,), "昆明市经开区浦新路2号", status,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


# --- the credit code (统一社会信用代码, GB 32100-2015) ---------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", CODE, "12530100431200101K"])
def test_valid_credit_codes_pass(code: str) -> None:
    assert credit_code_problem(code) is None


def test_the_check_character_is_31_minus_the_weighted_sum_mod_31() -> None:
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert credit_code_check_char("91530100MA6K5J8X2") == "A"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("91530100MA6K5J8X2B", "A"), ("91350100M000100Y44", "3")],
)
def test_a_wrong_check_character_names_the_expected_one(code: str, expected: str) -> None:
    command = replace(REGISTER, registration=replace(KMU, credit_code=code))
    refusal = spec(decider).given().when(command).raises(InvalidCreditCode)
    assert refusal.context["expected_check_character"] == expected
    assert f"should be {expected}" in refusal.detail


@pytest.mark.parametrize(
    "code", ["91530100MA6K5J8X2", "91530100MA6K5J8X2AA", "91530100MA6K5J8I2A", "9153010OMA6K5J8X2A"]
)
def test_a_malformed_credit_code_is_refused(code: str) -> None:
    command = replace(REGISTER, registration=replace(KMU, credit_code=code))
    refusal = spec(decider).given().when(command).raises(InvalidCreditCode)
    assert "expected_check_character" not in refusal.context


def test_the_credit_code_is_read_in_capitals_without_spaces() -> None:
    command = replace(REGISTER, registration=replace(KMU, credit_code=f" {CODE.lower()} "))
    spec(decider).given().when(command).then(REGISTERED)


# --- registering ------------------------------------------------------------------------------


def test_a_unit_registers_and_awaits_verification() -> None:
    spec(decider).given().when(REGISTER).then(REGISTERED)
    snap = snapshot(decider.fold([REGISTERED]))
    assert snap == UnitSnapshot(
        "unit-kmu", "昆明学院", CODE, Category.UNIVERSITY, Level.PREFECTURE, "53", "5301",
        UnitStatus.PENDING,
    )  # fmt: skip


def test_a_unit_registers_only_once() -> None:
    refusal = spec(decider).given(REGISTERED).when(REGISTER).raises(UnitAlreadyRegistered)
    assert "PATCH /units/unit-kmu" in refusal.detail


def test_a_unit_registers_only_itself() -> None:
    spec(decider).given().when(replace(REGISTER, by_org="unit-x")).raises(InvalidRegistration)


@pytest.mark.parametrize(
    "change",
    [
        {"name": " "},
        {"jurisdiction": "Kunming"},
        {"jurisdiction": "53"},  # a prefecture-owned unit names its prefecture
        {"contacts": ()},
        {"contacts": (Contact("张三", "call me", "haizhi@example.cn"),)},
        {"contacts": (Contact("张三", "0871-68000000", "haizhi"),)},
        {"address": ""},
    ],
    ids=["name", "code", "no-prefecture", "no-contact", "phone", "email", "address"],
)
def test_an_incomplete_registration_is_refused(change: dict[str, object]) -> None:
    command = replace(REGISTER, registration=replace(KMU, **change))  # type: ignore[arg-type]
    refusal = spec(decider).given().when(command).raises(InvalidRegistration)
    assert refusal.context["problems"]


def test_a_provincial_unit_may_be_known_by_its_province_only() -> None:
    provincial = replace(KMU, level=Level.PROVINCIAL, jurisdiction="53")
    (event,) = spec(decider).given().when(replace(REGISTER, registration=provincial)).decided()
    assert isinstance(event, UnitRegistered)
    assert event.province == "53"


# --- verification by the unit's CAST (Notice §3) ----------------------------------------------


@pytest.mark.parametrize(
    ("level", "office"),
    [
        (Level.PREFECTURE, Office.PREFECTURE),
        (Level.PROVINCIAL, Office.PROVINCE),
        (Level.CENTRAL, Office.PROVINCE),
    ],
)
def test_who_verifies_follows_the_level(level: Level, office: Office) -> None:
    assert office_for(level) is office


def test_the_prefecture_cast_verifies_a_prefecture_owned_unit() -> None:
    spec(decider).given(REGISTERED).when(VERIFY).then(VERIFIED)
    spec(decider).given(REGISTERED, VERIFIED).when(VERIFY).then()


def test_the_province_does_not_verify_a_prefecture_owned_unit() -> None:
    by_province = replace(VERIFY, office=Office.PROVINCE)
    refusal = spec(decider).given(REGISTERED).when(by_province).raises(NotTheUnitsCast)
    assert refusal.context["office"] == "prefecture"


def test_a_blank_opinion_is_no_opinion() -> None:
    spec(decider).given(REGISTERED).when(replace(VERIFY, opinion="  ")).then(
        replace(VERIFIED, opinion=None)
    )


def test_the_cast_returns_a_registration_with_reasons() -> None:
    spec(decider).given(REGISTERED).when(RETURN).then(RETURNED)
    spec(decider).given(REGISTERED, RETURNED).when(RETURN).then()
    spec(decider).given(REGISTERED).when(replace(RETURN, reasons=(" ",))).raises(
        InvalidRegistration
    )


def test_a_returned_registration_is_amended_before_it_is_verified() -> None:
    spec(decider).given(REGISTERED, RETURNED).when(VERIFY).raises(UnitNotPending)
    fixed = amend(credit_code="12530100431200101K")
    spec(decider).given(REGISTERED, RETURNED).when(fixed).then(
        amended(UnitStatus.PENDING, credit_code="12530100431200101K")
    )


def test_a_verified_registration_is_not_returned() -> None:
    spec(decider).given(REGISTERED, VERIFIED).when(RETURN).raises(UnitNotPending)


def test_nothing_is_done_to_a_unit_never_registered() -> None:
    for command in (VERIFY, RETURN, amend(name="x")):
        spec(decider).given().when(command).raises(UnitNotFound)


# --- amending -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"name": "昆明学院（新）"},
        {"credit_code": "12530100431200101K"},
        {"category": Category.INSTITUTION},
        {"level": Level.PROVINCIAL},
        {"jurisdiction": "5303"},
    ],
    ids=["name", "code", "category", "level", "jurisdiction"],
)
def test_changing_what_was_vouched_for_sends_a_verified_unit_back(
    change: dict[str, object],
) -> None:
    (event,) = spec(decider).given(REGISTERED, VERIFIED).when(amend(**change)).decided()
    assert isinstance(event, UnitRegistrationAmended)
    assert event.status is UnitStatus.PENDING
    assert snapshot(decider.fold([REGISTERED, VERIFIED, event])).status is UnitStatus.PENDING  # type: ignore[union-attr]


def test_new_contacts_or_address_keep_a_unit_verified() -> None:
    contacts = (Contact("李四", "13800000000", "lisi@example.cn"),)
    expected = amended(UnitStatus.VERIFIED, contacts=contacts, address="新地址")
    spec(decider).given(REGISTERED, VERIFIED).when(amend(contacts=contacts, address="新地址")).then(
        expected
    )
    state = decider.fold([REGISTERED, VERIFIED, expected])
    assert isinstance(state, Verified)
    assert state.opinion == "属实"


def test_an_amendment_that_changes_nothing_records_nothing() -> None:
    spec(decider).given(REGISTERED, VERIFIED).when(amend(name="昆明学院")).then()


def test_an_amendment_is_checked_like_a_registration() -> None:
    spec(decider).given(REGISTERED).when(amend(credit_code="91530100MA6K5J8X2B")).raises(
        InvalidCreditCode
    )


# --- one legal entity, one registration -------------------------------------------------------

OTHER_CODE = "91530100000000000" + credit_code_check_char("91530100000000000")


def test_a_credit_code_another_unit_holds_is_not_registered_again() -> None:
    command = replace(REGISTER, credit_code_held_by="unit-other")
    refusal = spec(decider).given().when(command).raises(CreditCodeRegistered)
    assert refusal.context["unit_id"] == "unit-other"
    assert "unit-other" in refusal.detail


def test_a_unit_may_not_amend_its_code_to_one_another_unit_holds() -> None:
    command = replace(amend(credit_code=OTHER_CODE), credit_code_held_by="unit-other")
    refusal = spec(decider).given(REGISTERED, VERIFIED).when(command).raises(CreditCodeRegistered)
    assert refusal.context["unit_id"] == "unit-other"


def test_a_units_own_code_is_not_a_conflict() -> None:
    own = replace(REGISTER, credit_code_held_by="unit-kmu")
    spec(decider).given().when(own).then(REGISTERED)
    contacts = replace(amend(address="昆明市新址"), credit_code_held_by="unit-other")
    (amended,) = spec(decider).given(REGISTERED).when(contacts).decided()
    assert isinstance(amended, UnitRegistrationAmended)
