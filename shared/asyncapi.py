"""The AsyncAPI 3.0 document of what a service publishes and consumes.

Each published event type gets its channel (`haizhi.<service>.{case_id}.<EventName>`), its
payload schema (the CloudEvents envelope with `data` typed from the event's dataclass) and
the producer's example, which `tests/contracts/` feeds to every consumer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from shared.codec import EventRegistry

ENVELOPE_ATTRIBUTES = {
    "specversion": {"const": "1.0"},
    "id": {"type": "string", "description": "ULID, time-sortable"},
    "source": {"type": "string"},
    "type": {"type": "string"},
    "subject": {"type": "string", "description": "the producing aggregate's stream id"},
    "time": {"type": "string", "format": "date-time"},
    "datacontenttype": {"const": "application/json"},
    "streamversion": {"type": "integer", "minimum": 1},
    "caseid": {"type": "string"},
    "correlationid": {"type": "string"},
    "causationid": {"type": ["string", "null"]},
    "actor": {"type": "string"},
    "policyversion": {"type": ["string", "null"]},
    "prevhash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
}


def asyncapi_document(
    registry: EventRegistry,
    examples: Sequence[object],
    consumes: Sequence[tuple[str, Sequence[str]]] = (),
    *,
    version: str = "1.0.0",
) -> dict[str, Any]:
    """`consumes` is a list of (upstream service, event names read)."""
    by_name = {type(example).__name__: example for example in examples}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name in registry.names:
        cls = registry.class_of(name)
        type_ = registry.type_for(name)
        message: dict[str, Any] = {
            "name": name,
            "title": name,
            "contentType": "application/cloudevents+json",
            "payload": {
                "type": "object",
                "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
                "properties": {
                    **ENVELOPE_ATTRIBUTES,
                    "type": {"const": type_},
                    "data": TypeAdapter(cls).json_schema(mode="serialization"),
                },
            },
        }
        if name in by_name:
            message["examples"] = [
                {
                    "name": f"{name}-example",
                    "payload": {"type": type_, "data": registry.encode(by_name[name])},
                }
            ]
        messages[name] = message
        channel = f"{registry.service}.{name}"
        channels[channel] = {
            "address": f"haizhi.{registry.service}.{{case_id}}.{name}",
            "parameters": {"case_id": {"description": "the case the event belongs to"}},
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
        }
    for upstream, names in consumes:
        for name in names:
            channel = f"consume.{upstream}.{name}"
            channels[channel] = {"address": f"haizhi.{upstream}.{{case_id}}.{name}"}
            operations[f"receive{upstream.title()}{name}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"haizhi {registry.service}", "version": version},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
