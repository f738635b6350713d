"""The event envelope: CloudEvents 1.0 in JSON structured mode, with our extensions.

Extension attributes (lower-case, as CloudEvents requires): `streamversion`, `caseid`,
`correlationid`, `causationid`, `actor`, `policyversion`, `prevhash`, `hash`, `sigkeyid`,
`signature`. The `subject` is the producing aggregate's stream id; `type` is
`haizhi.<service>.<EventName>.v<N>`.

The hash chain: `hash = sha256(canonical(envelope without hash))`, and `prevhash` is the hash
of the previous event of the same stream (`GENESIS` for the first), so an altered, removed
or reordered event breaks every hash after it.

The signature (`shared/signing.py`): `signature = Ed25519(canonical(envelope without
signature))`, so it covers the hash and the key id `sigkeyid`. Neither is part of the hash:
an event stored before signing existed keeps its hash and its bytes.

JSON goes through orjson, with the standard library as the reference: `canonical_json` gives
exactly the bytes of `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)` (hashes and signatures are computed over them), and `parse_json` exactly
the values of `json.loads`. orjson writes a value made of dicts with string keys, lists,
tuples, strings, 64-bit integers, booleans and None the same way (same escapes, same key
order); for anything else — a float (orjson writes `1e-05` as `0.00001`), a larger integer,
a subclass, an object the standard library refuses — both fall back to the standard library,
which decides as it always did. On reading, orjson refuses what `json.loads` takes leniently
(`NaN`, lone surrogates) and turns integers beyond 64 bits into floats: a refusal, or a float
anywhere in the result, is read again by `json.loads`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

SPEC_VERSION = "1.0"
GENESIS = "0" * 64
TYPE_PREFIX = "haizhi"


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Every pair of base32 digits, by the 10 bits they write.
_PAIRS = tuple(high + low for high in _CROCKFORD for low in _CROCKFORD)
_last_id = [0, 0]  # the last id's millisecond and randomness
_id_lock = threading.Lock()


def new_id() -> str:
    """A new time-sortable id (ULID, 26 characters, Crockford base32): 48 bits of Unix
    milliseconds, then 80 random bits, incremented instead within one millisecond so that
    the ids of one process sort in the order they were made (python-ulid's `ULID()` does
    the same, at two and a half times the cost)."""
    millis = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10))
    with _id_lock:
        last_millis, last_random = _last_id
        if millis <= last_millis and last_random < (1 << 80) - 1:
            millis, random = last_millis, last_random + 1
        _last_id[:] = millis, random
    value = millis << 80 | random
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 0x3FF] for shift in range(120, -1, -10)])


def event_type(service: str, name: str, version: int) -> str:
    return f"{TYPE_PREFIX}.{service}.{name}.v{version}"


def parse_type(type_: str) -> tuple[str, str, int]:
    """`haizhi.review.BaseDesignated.v1` -> ("review", "BaseDesignated", 1)."""
    prefix, service, name, version = type_.split(".")
    if prefix != TYPE_PREFIX or not version.startswith("v"):
        raise ValueError(f"not one of our event types: {type_!r}")
    return service, name, int(version[1:])


def nats_subject_of(type_: str, caseid: str) -> str:
    """`haizhi.<service>.<case id>.<EventName>`: where an event of `type_` is published."""
    service, name, _version = parse_type(type_)
    return f"{TYPE_PREFIX}.{service}.{caseid}.{name}"


def format_time(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    global _last_time
    last_instant, last_text = _last_time  # one tuple, read once: safe across threads
    if last_instant is instant:  # an append formats its `now` for each event and for the row
        return last_text
    text = instant.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    _last_time = (instant, text)
    return text


#: The last instant `format_time` wrote, and what it wrote (datetimes are immutable).
_last_time: tuple[datetime | None, str] = (None, "")


_SCALARS = frozenset((str, int, bool, type(None)))


def _plain(value: Any) -> bool:
    """Whether orjson writes `value` byte for byte as the standard library does: dicts with
    `str` keys, lists, tuples, `str`, `int`, `bool`, None — exact types, no float anywhere."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _SCALARS or _plain(item) for item in value)
    return False


def _well_typed(attrs: dict[str, Any]) -> bool:
    """Whether the attributes every reader takes as they are have the one type each must
    have (a `KeyError` where one is missing)."""
    return (
        type(attrs["type"]) is str
        and type(attrs["time"]) is str
        and type(attrs["streamversion"]) is int
    )


def _plain_within_depth(value: Any) -> bool:
    """`_plain(value)`, False where it is nested too deeply to walk."""
    try:
        return _plain(value)
    except RecursionError:
        return False


def stdlib_canonical_json(value: Any) -> bytes:
    """The reference encoding (what `canonical_json` always gives)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, everywhere."""
    return _plain_canonical_json(value) if _plain(value) else stdlib_canonical_json(value)


def _plain_canonical_json(value: Any) -> bytes:
    """`canonical_json` of a value known to be `_plain`."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # beyond 64 bits, a lone surrogate, too deep
        return stdlib_canonical_json(value)


def parse_json(raw: bytes | str) -> Any:
    """`json.loads(raw)`, faster: the same values, the same refusals (see the module's doc),
    and a document nested too deeply to read refused as malformed (`ValueError`)."""
    try:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return json.loads(raw)
        if type(value) in _SCALARS or _plain(value):
            return value
        return json.loads(raw)  # a float: perhaps an integer beyond 64 bits, read exactly
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


class Signing(Protocol):
    """What `Envelope.seal_new` signs with (`shared.signing.Signer`)."""

    @property
    def key_id(self) -> str: ...

    def signature(self, signed_bytes: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    streamversion: int
    caseid: str
    correlationid: str
    causationid: str | None
    actor: str
    policyversion: str | None
    prevhash: str
    hash: str
    #: Position in the producing store's log; not part of the published event.
    position: int | None = None
    #: The producer's key id (`<service>:<fingerprint>`) and Ed25519 signature (base64url).
    sigkeyid: str | None = None
    signature: str | None = None

    def __eq__(self, other: object) -> bool:
        """Field by field, as a dataclass compares, between any two envelopes: one read from
        the store (parsed lazily, `from_stored`) equals the same envelope built eagerly."""
        if not isinstance(other, Envelope):
            return NotImplemented
        return self is other or all(
            getattr(self, name) == getattr(other, name) for name in _FIELD_NAMES
        )

    @property
    def service(self) -> str:
        return parse_type(self.type)[0]

    @property
    def name(self) -> str:
        return parse_type(self.type)[1]

    @property
    def schema_version(self) -> int:
        return parse_type(self.type)[2]

    @property
    def nats_subject(self) -> str:
        return nats_subject_of(self.type, self.caseid)

    def attributes(self, *, with_hash: bool = True) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": format_time(self.time),
            "datacontenttype": "application/json",
            "data": self.data,
            "streamversion": self.streamversion,
            "caseid": self.caseid,
            "correlationid": self.correlationid,
            "causationid": self.causationid,
            "actor": self.actor,
            "policyversion": self.policyversion,
            "prevhash": self.prevhash,
        }
        if with_hash:
            attrs["hash"] = self.hash
            if self.sigkeyid is not None:
                attrs["sigkeyid"] = self.sigkeyid
            if self.signature is not None:
                attrs["signature"] = self.signature
        return attrs

    def signed_bytes(self) -> bytes:
        """What the signature covers: the sealed envelope with its key id, without itself."""
        attrs = self.attributes()
        attrs.pop("signature", None)
        return canonical_json(attrs)

    def to_json(self) -> bytes:
        return canonical_json(self.attributes())

    def covered_bytes(self) -> tuple[bytes, bytes]:
        """What its hash covers and what its signature covers (`signed_bytes`), in one pass:
        the attributes built and checked for orjson once, as `seal_new` does."""
        attrs = self.attributes(with_hash=False)
        dump = _plain_canonical_json if _plain(attrs) else stdlib_canonical_json
        hashed = dump(attrs)
        attrs["hash"] = self.hash
        if self.sigkeyid is not None:
            attrs["sigkeyid"] = self.sigkeyid
        return hashed, dump(attrs)

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.attributes(with_hash=False))).hexdigest()

    def sealed(self) -> Envelope:
        """This envelope with `hash` set from its content."""
        return replace(self, hash=self.computed_hash())

    def seal_new(self, signer: Signing | None = None) -> bytes:
        """Seal (and with `signer`, sign) this envelope IN PLACE, and return its `to_json()`:
        for a store's own envelope, just built and seen by no one yet. The same envelope and
        bytes as `sealed()`, `Signer.sign` and `to_json()` one after the other, in one pass:
        the attributes built and checked for orjson once, each JSON written once."""
        attrs = self.attributes(with_hash=False)
        dump = _plain_canonical_json if _plain(attrs) else stdlib_canonical_json
        attrs["hash"] = digest = hashlib.sha256(dump(attrs)).hexdigest()
        _set_hash(self, digest)
        if signer is not None:
            attrs["sigkeyid"] = signer.key_id
            attrs["signature"] = signature = signer.signature(dump(attrs))
            _set_sigkeyid(self, signer.key_id)
            _set_signature(self, signature)
        return dump(attrs)

    @classmethod
    def from_json(cls, raw: bytes | str, position: int | None = None) -> Envelope:
        return cls.from_attributes(parse_json(raw), position)

    @staticmethod
    def from_stored(raw: bytes | str, position: int | None = None) -> Envelope:
        """An envelope read from the store, parsed lazily: equal to `from_json(raw, position)`,
        with the same `to_json()`, hash and signed bytes, refused here as `from_json` refuses
        (not JSON, another specversion, a missing attribute), but each attribute is taken
        from the parsed document only when it is read and the time parsed at its first
        reading: a reader touching `type` and `data` pays for no more. The values are
        `parse_json`'s: the data is checked for floats here (orjson's reading of one is not
        taken); an attribute of the envelope found a float is read again by `json.loads` when
        it is read (`_Stored`). `dataclasses.replace` of one gives a plain `Envelope`."""
        try:
            attrs = _loads(raw)
        except orjson.JSONDecodeError:
            attrs = None
        if (
            type(attrs) is not dict
            or attrs.get("specversion") != SPEC_VERSION
            or not attrs.keys() >= _REQUIRED
            or not _well_typed(attrs)  # a float version: beyond 64 bits, read exactly
            or not _plain_within_depth(attrs["data"])
        ):
            return Envelope.from_json(raw, position)  # reads exactly, or raises as it does
        stored = _new(_Stored)
        _set_attrs(stored, attrs)
        _set_raw(stored, raw)
        _set_position(stored, position)
        # What every reader reads, in the dataclass's own slots.
        _set_type(stored, attrs["type"])
        _set_data(stored, attrs["data"])
        return stored

    @classmethod
    def from_attributes(cls, attrs: dict[str, Any], position: int | None = None) -> Envelope:
        """The envelope of a parsed document; anything else than one is refused with a
        `ValueError` (a `KeyError` for a missing attribute), never another error."""
        if type(attrs) is not dict:
            raise ValueError(f"an envelope is a JSON object, not {type(attrs).__name__}")
        if attrs.get("specversion") != SPEC_VERSION:
            raise ValueError(f"unsupported CloudEvents specversion {attrs.get('specversion')!r}")
        if not _well_typed(attrs):
            raise ValueError(
                "type and time must be strings and streamversion an integer, not "
                f"{attrs['type']!r:.40}, {attrs['time']!r:.40}, {attrs['streamversion']!r:.40}"
            )
        return cls(
            id=attrs["id"],
            source=attrs["source"],
            type=attrs["type"],
            subject=attrs["subject"],
            time=datetime.fromisoformat(attrs["time"].replace("Z", "+00:00")),
            data=attrs["data"],
            streamversion=attrs["streamversion"],
            caseid=attrs["caseid"],
            correlationid=attrs["correlationid"],
            causationid=attrs.get("causationid"),
            actor=attrs["actor"],
            policyversion=attrs.get("policyversion"),
            prevhash=attrs["prevhash"],
            hash=attrs.get("hash", ""),
            position=position,
            sigkeyid=attrs.get("sigkeyid"),
            signature=attrs.get("signature"),
        )


_FIELD_NAMES = tuple(f.name for f in fields(Envelope))
#: What `from_attributes` reads with `attrs[...]` (the others with `attrs.get`).
_REQUIRED = frozenset(
    (
        "id",
        "source",
        "type",
        "subject",
        "time",
        "data",
        "streamversion",
        "caseid",
        "correlationid",
        "actor",
        "prevhash",
    )
)
_TIME_SLOT: Any = Envelope.__dict__["time"]
_POSITION_SLOT: Any = Envelope.__dict__["position"]


class _Stored(Envelope):
    """`Envelope.from_stored`: the attributes read from the parsed document on access (the
    properties set below shadow the dataclass's slots; `position`, `type`, `data` and, once
    parsed, `time` live in those slots)."""

    __slots__ = ("_attrs", "_raw")
    _attrs: dict[str, Any]
    _raw: bytes | str

    def __new__(cls, *args: Any, **kwargs: Any) -> Envelope:  # type: ignore[misc]
        # `dataclasses.replace` (and anything else building one of our class from fields)
        # gets a plain, eager Envelope.
        return Envelope(*args, **kwargs)

    def eager(self) -> Envelope:
        return Envelope(**{name: getattr(self, name) for name in _FIELD_NAMES})

    def __repr__(self) -> str:
        return repr(self.eager())

    def __reduce__(self) -> tuple[Any, ...]:
        return (Envelope, tuple(getattr(self, name) for name in _FIELD_NAMES))


_ATTRS_SLOT: Any = _Stored.__dict__["_attrs"]
_RAW_SLOT: Any = _Stored.__dict__["_raw"]
# `from_stored`'s steps, looked up once.
_loads = orjson.loads
_new = object.__new__
_set_attrs = _ATTRS_SLOT.__set__
_set_raw = _RAW_SLOT.__set__
_set_position = _POSITION_SLOT.__set__
_set_type = Envelope.__dict__["type"].__set__
_set_data = Envelope.__dict__["data"].__set__
_set_hash = Envelope.__dict__["hash"].__set__
_set_sigkeyid = Envelope.__dict__["sigkeyid"].__set__
_set_signature = Envelope.__dict__["signature"].__set__


def _exactly(stored: _Stored) -> dict[str, Any]:
    """The document read by `json.loads`, for an attribute orjson read as a float."""
    exact: dict[str, Any] = json.loads(_RAW_SLOT.__get__(stored))
    return exact


def _required(name: str) -> property:
    def get(self: _Stored) -> Any:
        value = self._attrs[name]
        return _exactly(self)[name] if type(value) is float else value

    return property(get)


def _optional(name: str, default: Any = None) -> property:
    def get(self: _Stored) -> Any:
        value = self._attrs.get(name, default)
        return _exactly(self)[name] if type(value) is float else value

    return property(get)


def _time(self: _Stored) -> datetime:
    try:
        parsed: datetime = _TIME_SLOT.__get__(self)
    except AttributeError:
        value: str = self._attrs["time"]  # a string: `from_stored` took no other
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        _TIME_SLOT.__set__(self, parsed)
    return parsed


def _streamversion(self: _Stored) -> int:
    version: int = self._attrs["streamversion"]  # an int: `from_stored` took no other
    return version


for _name in _REQUIRED - {"time", "streamversion", "type", "data"}:
    setattr(_Stored, _name, _required(_name))
for _name in ("causationid", "policyversion", "sigkeyid", "signature"):
    setattr(_Stored, _name, _optional(_name))
_Stored.hash = _optional("hash", "")  # type: ignore[assignment]
_Stored.time = property(_time)  # type: ignore[assignment]
_Stored.streamversion = property(_streamversion)  # type: ignore[assignment]
