"""Domain events <-> envelope data: stable, versioned type names and upcasting on read.

A service registers its domain event classes (frozen dataclasses) once, in its messaging
layer. Type names are `haizhi.<service>.<ClassName>.v<N>`, never an import path. When an
event's schema changes, its version goes up and an upcaster turns stored `vN` data into
`vN+1` data, so old history still folds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, is_dataclass
from typing import Any

from pydantic import TypeAdapter

from shared.envelope import event_type, parse_type

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
#: At most this many type strings remembered by `EventRegistry.decode`.
_DECODING_CACHE = 1024


@dataclass(frozen=True)
class _Registration:
    cls: type[Any]
    version: int
    adapter: TypeAdapter[Any]


#: `EventRegistry.decode`'s knowledge of one type string.
_Decoding = tuple[str, int, _Registration, Callable[[Any], Any]]


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """The event classes one service publishes, by name and schema version."""

    def __init__(self, service: str, classes: Iterable[type[Any]] = ()) -> None:
        self.service = service
        self._by_name: dict[str, _Registration] = {}
        self._by_class: dict[type[Any], _Registration] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        #: type string -> (name, its version, the registration): `decode`'s lookups, once per
        #: type (only types found registered; cleared when a class is registered).
        self._decoding: dict[str, _Decoding] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type[Any], version: int = 1) -> None:
        if not is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        registration = _Registration(cls, version, TypeAdapter(cls))
        self._by_name[cls.__name__] = registration
        self._by_class[cls] = registration
        self._decoding.clear()

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning `name` data of `from_version` into the next version."""

        def register(fn: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = fn
            return fn

        return register

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def class_of(self, name: str) -> type[Any]:
        return self._by_name[name].cls

    def type_for(self, name: str) -> str:
        return event_type(self.service, name, self._by_name[name].version)

    def type_of(self, event: object) -> str:
        registration = self._registration_of(event)
        return event_type(self.service, type(event).__name__, registration.version)

    def encode(self, event: object) -> dict[str, Any]:
        data: dict[str, Any] = self._registration_of(event).adapter.dump_python(event, mode="json")
        return data

    def decode(self, type_: str, data: dict[str, Any]) -> Any:
        known = self._decoding.get(type_)
        if known is None:
            known = self._decoding_of(type_)
        name, version, registration, validate = known
        while version < registration.version:
            data = self._upcasters[(name, version)](data)
            version += 1
        return validate(data)

    def _decoding_of(self, type_: str) -> _Decoding:
        """What `decode` needs to know of `type_` (remembered for the next time): its name and
        version, the registration, and the validation `TypeAdapter.validate_python(data)`
        runs (its schema validator's, without the wrapper)."""
        service, name, version = parse_type(type_)
        registration = self._by_name.get(name)
        if service != self.service or registration is None:
            raise UnknownEventType(type_)
        known = (name, version, registration, registration.adapter.validator.validate_python)
        if len(self._decoding) < _DECODING_CACHE:
            self._decoding[type_] = known
        return known

    def _registration_of(self, event: object) -> _Registration:
        try:
            return self._by_class[type(event)]
        except KeyError:
            raise UnknownEventType(f"{type(event).__name__} is not registered") from None
