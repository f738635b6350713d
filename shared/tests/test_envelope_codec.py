"""The envelope (CloudEvents, canonical bytes, hashes) and the codec (types, upcasting)."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
from dataclasses import FrozenInstanceError, dataclass, fields, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ulid import ULID

from shared.codec import EventRegistry, UnknownEventType
from shared.envelope import (
    GENESIS,
    Envelope,
    canonical_json,
    new_id,
    parse_json,
    parse_type,
    stdlib_canonical_json,
)
from shared.policy import PolicyBook
from shared.signing import TrustedKeys
from shared.testkit.keys import signer

REPO = Path(__file__).resolve().parents[2]


class Grade(StrEnum):
    EXCELLENT = "excellent"


@dataclass(frozen=True)
class Funded:
    base_id: str
    amount_fen: int
    funds_wan: Decimal
    on: date
    grade: Grade
    years: tuple[int, ...]


def sealed(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "id": "01J0000000000000000000000A",
        "source": "/haizhi/funding",
        "type": "haizhi.funding.Funded.v1",
        "subject": "plan-1",
        "time": datetime(2026, 5, 1, 8, 30, tzinfo=UTC),
        "data": {"名称": "昆明理工大学", "amount_fen": 20000000},
        "streamversion": 1,
        "caseid": "case-1",
        "correlationid": "corr",
        "causationid": None,
        "actor": "finance-1",
        "policyversion": "2022.1",
        "prevhash": GENESIS,
        "hash": "",
    }
    return Envelope(**{**fields, **overrides}).sealed()


def test_an_envelope_is_a_structured_cloudevent_with_our_extensions() -> None:
    attributes = sealed().attributes()
    assert attributes["specversion"] == "1.0"
    assert attributes["datacontenttype"] == "application/json"
    assert attributes["time"] == "2026-05-01T08:30:00.000000Z"
    for extension in ("streamversion", "caseid", "correlationid", "causationid", "actor",
                      "policyversion", "prevhash", "hash"):  # fmt: skip
        assert extension in attributes
        assert extension.isalnum()  # CloudEvents naming rule: lower-case letters and digits
        assert extension.islower()


def test_the_same_content_gives_the_same_bytes_and_hash() -> None:
    assert sealed().to_json() == sealed().to_json()
    assert sealed().hash == sealed().hash
    assert canonical_json({"b": 1, "a": "海"}) == '{"a":"海","b":1}'.encode()


def test_any_change_of_content_changes_the_hash() -> None:
    assert sealed(actor="someone-else").hash != sealed().hash
    assert sealed(data={"amount_fen": 1}).hash != sealed().hash
    assert sealed(prevhash="f" * 64).hash != sealed().hash


def test_an_envelope_survives_the_round_trip_through_json() -> None:
    original = sealed()
    again = Envelope.from_json(original.to_json())
    assert again == original
    assert again.computed_hash() == original.hash
    assert original.nats_subject == "haizhi.funding.case-1.Funded"


def test_type_names_are_ours_and_versioned() -> None:
    assert parse_type("haizhi.review.BaseDesignated.v2") == ("review", "BaseDesignated", 2)
    with pytest.raises(ValueError, match="not one of our event types"):
        parse_type("com.example.Thing.v1")


def test_the_codec_encodes_money_dates_and_enums_exactly() -> None:
    registry = EventRegistry("funding", [Funded])
    event = Funded("b1", 20000000, Decimal("12.50"), date(2026, 5, 1), Grade.EXCELLENT, (1, 2))
    data = registry.encode(event)
    assert data == {
        "base_id": "b1",
        "amount_fen": 20000000,
        "funds_wan": "12.50",
        "on": "2026-05-01",
        "grade": "excellent",
        "years": [1, 2],
    }
    assert registry.type_of(event) == "haizhi.funding.Funded.v1"
    assert registry.decode("haizhi.funding.Funded.v1", data) == event


def test_old_schema_versions_are_upcast_on_read() -> None:
    registry = EventRegistry("funding")
    registry.register(Funded, version=2)

    @registry.upcaster("Funded", from_version=1)
    def _add_years(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "years": []}

    old = {"base_id": "b1", "amount_fen": 1, "funds_wan": "0", "on": "2022-01-01",
           "grade": "excellent"}  # fmt: skip
    assert registry.decode("haizhi.funding.Funded.v1", old).years == ()
    assert registry.type_of(registry.decode("haizhi.funding.Funded.v1", old)).endswith(".v2")


def test_an_unknown_type_is_refused() -> None:
    registry = EventRegistry("funding", [Funded])
    with pytest.raises(UnknownEventType):
        registry.decode("haizhi.funding.Nope.v1", {})
    with pytest.raises(UnknownEventType):
        registry.decode("haizhi.review.Funded.v1", {})


def test_the_policy_in_force_is_the_newest_not_after_the_date() -> None:
    book = PolicyBook.load(REPO / "policies")
    current = book.in_force(date(2026, 1, 1))
    assert current.version == "2022.1"
    assert not current.has("funding")  # the subsidy is a province's own (policies/provinces)
    assert current.section("renewal")["window_days"] == 90
    assert book.version("2022.1") is current
    with pytest.raises(KeyError):
        book.version("1999.1")


# ---------------------------------------------------------------- orjson, byte for byte

#: Values whose bytes the hash chain and the signatures depend on: every escape, key orders
#: of every plane, floats (orjson would write 1e-05 as 0.00001), integers at and beyond 64
#: bits, subclasses, tuples, nesting.
AWKWARD: list[Any] = [
    {"text": "".join(chr(c) for c in range(0x800))},
    {chr(c): c for c in (0x7F, 0x80, 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x10000, 0x1F600)},
    {"b": 1, "a": {"d": [1, {"z": None, "y": True}], "c": False}, "é": "海", "Z": ""},
    {"amount": 1e-05, "big": 1e16, "pi": 3.141592653589793, "neg": -0.0, "one": 1.0},
    {"max": 2**64 - 1, "min": -(2**63), "beyond": 2**64, "below": -(2**63) - 1},
    {"grade": Grade.EXCELLENT, "years": (2024, 2025), "nested": [[[[]]]], "empty": {}},
    ["top", "level", 1, None],
    "a string",
    12345678901234567890123,
]


@pytest.mark.parametrize("value", AWKWARD)
def test_canonical_json_is_the_standard_librarys_bytes(value: Any) -> None:
    reference = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert canonical_json(value) == reference
    assert parse_json(reference) == json.loads(reference)
    assert type(parse_json(reference)) is type(json.loads(reference))


def test_canonical_json_refuses_what_the_standard_library_refuses() -> None:
    for refused in (float("nan"), {"x": float("inf")}, {"when": date(2026, 5, 1)}, "\ud800"):
        with pytest.raises((ValueError, TypeError)):
            stdlib_canonical_json(refused)
        with pytest.raises((ValueError, TypeError)):
            canonical_json(refused)
    odd_keys = {1.5: "k", 2: "i", 0.5: "n"}  # the standard library writes them as strings
    assert canonical_json(odd_keys) == stdlib_canonical_json(odd_keys)


def test_parse_json_reads_exactly_what_json_loads_reads() -> None:
    for text in ("NaN", '{"n":18446744073709551616}', '{"n":-9223372036854775809}', '"\\ud800"',
                 '{"a":1,"a":2}', "1E400", '{"f":0.1}', "[]"):  # fmt: skip
        expected = json.loads(text)
        got = parse_json(text)
        assert repr(got) == repr(expected)
        assert parse_json(text.encode()) == expected or text in ("NaN",)
    with pytest.raises(json.JSONDecodeError, match="Expecting property name"):
        parse_json(b"{not json")


@pytest.mark.parametrize("data", [d for d in AWKWARD if isinstance(d, dict)])
def test_an_envelopes_bytes_hash_and_signed_bytes_are_unchanged(data: dict[str, Any]) -> None:
    envelope = sealed(data=data, causationid="01J0000000000000000000000B")
    envelope = replace(envelope, sigkeyid="funding:0123456789abcdef", signature="c2lnbmF0dXJl")
    attributes = envelope.attributes()
    assert envelope.to_json() == stdlib_canonical_json(attributes)
    without_signature = {k: v for k, v in attributes.items() if k != "signature"}
    assert envelope.signed_bytes() == stdlib_canonical_json(without_signature)
    unhashed = envelope.attributes(with_hash=False)
    assert envelope.computed_hash() == hashlib.sha256(stdlib_canonical_json(unhashed)).hexdigest()
    again = Envelope.from_json(envelope.to_json())
    assert again.to_json() == envelope.to_json()
    assert again.computed_hash() == envelope.hash == envelope.computed_hash()


@pytest.mark.parametrize("data", [d for d in AWKWARD if isinstance(d, dict)])
@pytest.mark.parametrize("signed", [True, False])
def test_sealing_a_new_envelope_in_one_pass_gives_the_step_by_step_result(
    data: dict[str, Any], signed: bool
) -> None:
    """The store's one-pass sealing (`seal_new`) gives the envelope and bytes of `sealed()`,
    then `Signer.sign`, then `to_json()`, whatever the data (orjson's or the standard
    library's JSON)."""
    key = signer("funding") if signed else None
    unsealed = sealed(data=data, causationid="01J0000000000000000000000B", hash="")
    unsealed = replace(unsealed, hash="")
    expected = unsealed.sealed() if key is None else key.sign(unsealed.sealed())
    fresh = replace(unsealed)
    body = fresh.seal_new(key)
    assert fresh == expected
    assert body == expected.to_json()
    assert fresh.hash == fresh.computed_hash()
    if key is not None:
        assert TrustedKeys.of(("funding", key.public)).check(fresh) is None


def test_new_ids_are_ulids_of_now_in_the_order_they_were_made() -> None:
    before = datetime.now(UTC)
    ids = [new_id() for _ in range(20_000)]  # many within one millisecond
    after = datetime.now(UTC)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for made in (ids[0], ids[-1]):
        assert len(made) == 26
        assert set(made) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        stamp = ULID.from_str(made).datetime
        assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamp <= after


# ---------------------------------------------------------------- envelopes read from the store


@pytest.mark.parametrize("data", [d for d in AWKWARD if isinstance(d, dict)])
def test_a_stored_envelope_read_lazily_equals_the_eager_one(data: dict[str, Any]) -> None:
    envelope = sealed(data=json.loads(stdlib_canonical_json(data)), causationid="01J0B")
    envelope = replace(envelope, sigkeyid="funding:0123456789abcdef", signature="c2lnbmF0dXJl")
    raw = envelope.to_json()
    for stored in (raw, raw.decode()):
        eager, lazy = Envelope.from_json(stored, 7), Envelope.from_stored(stored, 7)
        assert lazy == eager
        assert eager == lazy
        assert isinstance(lazy, Envelope)
        for name in (f.name for f in fields(Envelope)):
            assert repr(getattr(lazy, name)) == repr(getattr(eager, name)), name
        assert lazy.to_json() == eager.to_json() == raw
        assert lazy.signed_bytes() == eager.signed_bytes()
        assert lazy.computed_hash() == eager.computed_hash() == lazy.hash
        assert repr(lazy) == repr(eager)
        moved = replace(lazy, position=8)
        assert type(moved) is Envelope
        assert moved == replace(eager, position=8)
        assert pickle.loads(pickle.dumps(lazy)) == eager == copy.deepcopy(lazy)
        with pytest.raises(FrozenInstanceError):
            lazy.id = "other"  # type: ignore[misc]
        with pytest.raises(FrozenInstanceError):
            lazy.position = 9  # type: ignore[misc]


def test_a_stored_envelope_reads_attributes_exactly_as_json_loads() -> None:
    attributes = sealed().attributes()
    # Floats outside the data stay lazy, each read again exactly by json.loads when read.
    attributes.update(actor=1.5, causationid=1e-05, extra=0.1)
    raw = json.dumps(attributes)
    lazy, eager = Envelope.from_stored(raw), Envelope.from_json(raw)
    assert type(lazy) is not Envelope  # read lazily
    assert repr(lazy.actor) == repr(eager.actor) == "1.5"
    assert repr(lazy.causationid) == repr(eager.causationid) == "1e-05"
    assert lazy == eager
    # A version beyond 64 bits (orjson: a float) or a float in the data: read eagerly, exactly.
    for odd in (
        json.dumps({**attributes, "streamversion": 2**64 + 1}),
        json.dumps({**attributes, "data": {"x": 1e-05}}),
    ):
        read = Envelope.from_stored(odd)
        assert type(read) is Envelope
        assert repr(read) == repr(Envelope.from_json(odd))
    assert (
        Envelope.from_stored(json.dumps({**attributes, "streamversion": 2**64 + 1})).streamversion
        == 2**64 + 1
    )


def test_a_stored_envelope_is_refused_as_the_eager_parse_refuses_it() -> None:
    good = sealed().attributes()
    for broken, error in (
        ("{not json", json.JSONDecodeError),
        (json.dumps({**good, "specversion": "0.3"}), ValueError),
        (json.dumps({k: v for k, v in good.items() if k != "subject"}), KeyError),
        # What JSON can carry and no producer writes: refused as malformed (`ValueError`),
        # never another error, so a consumer dead-letters it as unreadable.
        (json.dumps(["not", "an", "object"]), ValueError),
        ("null", ValueError),
        ("1", ValueError),
        (json.dumps({**good, "type": 0.1}), ValueError),
        (json.dumps({**good, "type": ["haizhi.x.Y.v1"]}), ValueError),
        (json.dumps({**good, "time": 0}), ValueError),
        (json.dumps({**good, "time": None}), ValueError),
        (json.dumps({**good, "streamversion": "3"}), ValueError),
        (json.dumps({**good, "streamversion": True}), ValueError),
        (json.dumps({**good, "streamversion": 2.0}), ValueError),
        (
            stdlib_canonical_json(good)
            .decode()
            .replace('"streamversion":1', '"streamversion":1e400'),
            ValueError,
        ),
        ('{"data":' + "[" * 5000 + "]" * 5000 + "}", ValueError),
        (
            json.dumps({**good, "data": {"deep": "X"}}).replace('"X"', "[" * 995 + "]" * 995),
            ValueError,
        ),
    ):
        with pytest.raises(error):
            Envelope.from_json(broken)
        with pytest.raises(error):
            Envelope.from_stored(broken)
    not_a_time = json.dumps({**good, "time": "yesterday"})
    with pytest.raises(ValueError, match="Invalid isoformat"):
        Envelope.from_json(not_a_time)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        Envelope.from_stored(not_a_time).time  # noqa: B018 - parsed when first read


def test_decoding_the_same_type_again_decodes_as_the_first_time() -> None:
    registry = EventRegistry("funding", [Funded])
    data = {"base_id": "b1", "amount_fen": 1, "funds_wan": "0.5", "on": "2022-01-01",
            "grade": "excellent", "years": [2024]}  # fmt: skip
    first = registry.decode("haizhi.funding.Funded.v1", data)
    assert registry.decode("haizhi.funding.Funded.v1", data) == first
    assert first.funds_wan == Decimal("0.5")
    assert first.years == (2024,)
    with pytest.raises(ValidationError):
        registry.decode("haizhi.funding.Funded.v1", {**data, "amount_fen": "many"})
    registry.register(Funded, version=2)  # a new version: stored v1 data is now upcast

    @registry.upcaster("Funded", from_version=1)
    def _double(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "amount_fen": data["amount_fen"] * 2}

    assert registry.decode("haizhi.funding.Funded.v1", data).amount_fen == 2
    with pytest.raises(UnknownEventType):
        registry.decode("haizhi.funding.Nope.v1", data)


# ------------------------------------------- the bytes a hash and a signature cover, received


def _received_forms(envelope: Envelope) -> list[bytes]:
    """The producer's canonical bytes, then the same envelope written otherwise: spaced,
    keys in another order, the time as +00:00, an attribute left out that defaults to null,
    another content type, an attribute of our own added."""
    attributes = envelope.attributes()
    canonical = envelope.to_json()
    reordered = dict(reversed(list(attributes.items())))
    other_time = {**attributes, "time": attributes["time"].replace("Z", "+00:00")}
    no_causation = {k: v for k, v in attributes.items() if k != "causationid"}
    return [
        canonical,
        json.dumps(attributes, ensure_ascii=False).encode(),
        json.dumps(reordered, separators=(",", ":"), ensure_ascii=False).encode(),
        stdlib_canonical_json(other_time),
        stdlib_canonical_json(no_causation),
        stdlib_canonical_json({**attributes, "datacontenttype": "text/json"}),
        stdlib_canonical_json({**attributes, "extra": "ours"}),
    ]


@pytest.mark.parametrize("data", [d for d in AWKWARD if isinstance(d, dict)])
def test_what_a_received_envelopes_hash_and_signature_cover_is_what_the_eager_one_computes(
    data: dict[str, Any],
) -> None:
    """The bytes a received envelope's hash and signature cover (`covered_bytes`, one pass)
    are the standard library's canonical JSON of its attributes without the hash, and
    `signed_bytes()`, read eagerly or lazily, in any form it may arrive."""
    key = signer("funding")
    trusted = TrustedKeys.of(("funding", key.public))
    content = json.loads(stdlib_canonical_json(data))
    envelope = key.sign(sealed(data=content, causationid=None))
    for received in _received_forms(envelope):
        eager = Envelope.from_json(received)
        unhashed = eager.attributes(with_hash=False)
        expected = (stdlib_canonical_json(unhashed), eager.signed_bytes())
        for form in (received, received.decode()):
            lazy = Envelope.from_stored(form)
            assert lazy.covered_bytes() == eager.covered_bytes() == expected
            assert trusted.check(lazy) == trusted.check(eager)
    assert trusted.check(Envelope.from_stored(envelope.to_json())) is None


def test_a_received_envelope_altered_anywhere_is_refused_as_the_eager_one_is() -> None:
    key = signer("funding")
    trusted = TrustedKeys.of(("funding", key.public))
    # A data key named like an attribute the hash leaves out: the data's is covered.
    good = key.sign(sealed(data={"amount_fen": 20000000, "signature": "decoy"}))
    wire = good.to_json()
    altered = [
        wire.replace(b"20000000", b"20000001"),  # the content: the hash no longer matches
        wire.replace(b'"decoy"', b'"decoz"'),
        wire.replace(good.hash.encode(), hashlib.sha256(b"other").hexdigest().encode()),
        wire.replace(good.sigkeyid.encode(), b"funding:ffffffffffffffff"),  # type: ignore[union-attr]
    ]
    resealed = replace(good, data={"amount_fen": 1, "signature": "decoy"}).sealed()
    altered.append(replace(resealed, sigkeyid=good.sigkeyid, signature=good.signature).to_json())
    for bad in altered:
        lazy, eager = Envelope.from_stored(bad), Envelope.from_json(bad)
        assert trusted.check(lazy) == trusted.check(eager) is not None
    impossible_day = wire.replace(b'"time":"2026-05-01', b'"time":"2026-02-30')
    with pytest.raises(ValueError, match="day is out of range"):
        Envelope.from_stored(impossible_day).covered_bytes()
