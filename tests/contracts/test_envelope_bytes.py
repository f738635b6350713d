"""Every example event of every service seals, signs and reads back to the same bytes with
the kernel's orjson encoding as with the standard library's (shared/envelope.py): the hash
chain and the signatures of stored events depend on those bytes."""

from __future__ import annotations

import hashlib
import json

import pytest

from shared.envelope import GENESIS, Envelope, new_id, stdlib_canonical_json
from shared.testkit.keys import signer

from .world import NOW, SPECS

EXAMPLES = [(name, example) for name, spec in sorted(SPECS.items()) for example in spec.examples]


@pytest.mark.parametrize(
    ("producer", "example"), EXAMPLES, ids=[f"{p}-{type(e).__name__}" for p, e in EXAMPLES]
)
def test_a_real_event_has_the_standard_librarys_bytes(producer: str, example: object) -> None:
    registry = SPECS[producer].registry
    data = registry.encode(example)
    case_id = str(data.get("case_id") or new_id())
    envelope = Envelope(
        id=new_id(),
        source=f"/haizhi/{producer}",
        type=registry.type_of(example),
        subject=f"{producer}-{case_id}",
        time=NOW,
        data=data,
        streamversion=7,
        caseid=case_id,
        correlationid=new_id(),
        causationid=new_id(),
        actor=f"system:{producer}",
        policyversion=data.get("policy_version"),
        prevhash=GENESIS,
        hash="",
    ).sealed()
    envelope = signer(producer).sign(envelope)

    unhashed = stdlib_canonical_json(envelope.attributes(with_hash=False))
    assert envelope.hash == hashlib.sha256(unhashed).hexdigest()
    unsigned = {k: v for k, v in envelope.attributes().items() if k != "signature"}
    assert envelope.signed_bytes() == stdlib_canonical_json(unsigned)
    stored = envelope.to_json()
    assert stored == stdlib_canonical_json(envelope.attributes())

    read = Envelope.from_json(stored)
    assert read == Envelope.from_attributes(json.loads(stored))
    assert read.to_json() == stored
    assert registry.decode(read.type, read.data) == example
