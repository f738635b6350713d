"""The auditor's own check of `HAIZHI`: every message signed by the service that owns it, and
no two events at one version of a stream. Needs the public keys and read access to the
stream only: no trust in the operators or the services' databases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext

from shared.envelope import Envelope
from shared.reconcile import stored_messages
from shared.signing import TrustedKeys, Untrusted
from shared.streams import SUBJECT_PREFIX


@dataclass
class ServiceSignatures:
    signed: int = 0
    #: Unsigned events: legacy if the service's store counts as many stored before its
    #: signing cut-over (`unsigned_legacy` of its `/audit/verify`), forged otherwise.
    unsigned: int = 0
    #: HAIZHI sequence -> reason, for every message that is not trusted (unsigned excepted).
    bad: dict[int, str] = field(default_factory=dict)


@dataclass
class StreamAudit:
    services: dict[str, ServiceSignatures] = field(default_factory=dict)
    #: Two or more validly signed events at one version of one stream.
    version_conflicts: list[dict[str, Any]] = field(default_factory=list)

    def jsonable(self) -> dict[str, Any]:
        return {
            "services": {
                name: {"signed": s.signed, "unsigned": s.unsigned, "bad": s.bad}
                for name, s in sorted(self.services.items())
            },
            "version_conflicts": self.version_conflicts,
        }


async def audit_stream(js: JetStreamContext, trust: TrustedKeys) -> StreamAudit:
    """Walk all of `HAIZHI` once, checking each message under `trust`."""
    found = StreamAudit()
    ids: dict[tuple[str, str, int], set[str]] = {}
    async for message in stored_messages(js, f"{SUBJECT_PREFIX}.>"):
        tokens = message.subject.split(".")
        service = tokens[1] if len(tokens) > 1 else "?"
        tally = found.services.setdefault(service, ServiceSignatures())
        try:
            envelope = Envelope.from_json(message.data)
        except (ValueError, KeyError, TypeError):
            tally.bad[message.seq] = "unreadable"
            continue
        reason = trust.check_received(envelope, message.subject)
        if reason == Untrusted.UNSIGNED:
            tally.unsigned += 1
        elif reason is not None:
            tally.bad[message.seq] = reason
        else:
            tally.signed += 1
            key = (envelope.service, envelope.subject, envelope.streamversion)
            ids.setdefault(key, set()).add(envelope.id)
    for (service, stream, version), event_ids in sorted(ids.items()):
        if len(event_ids) > 1:
            found.version_conflicts.append(
                {"service": service, "stream": stream, "version": version, "ids": sorted(event_ids)}
            )
    return found
