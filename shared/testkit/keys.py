"""Signing keys for tests: one per service name, made once per test process.

`foreign_event` signs with these, as the named service would; `install` puts them where an
in-process service (`running_service`) and `System` look, so every service under test signs
with its test key and trusts every other's, like the embedded default.
"""

from __future__ import annotations

from pathlib import Path

from shared.signing import Signer, TrustedKeys, trust_key, write_private

#: The services whose keys exist from the start (others are made when first asked for).
SERVICES = ("application", "review", "assessment", "funding", "upstream", "toy", "test")

_signers: dict[str, Signer] = {}


def signer(service: str) -> Signer:
    if service not in _signers:
        _signers[service] = Signer.generate(service)
    return _signers[service]


def all_signers() -> list[Signer]:
    for service in SERVICES:
        signer(service)
    return list(_signers.values())


def trust() -> TrustedKeys:
    """Every test key, each trusted for its own service."""
    return TrustedKeys.of(*((s.service, s.public) for s in all_signers()))


def install(data_dir: Path) -> None:
    """Each service's private key at `<data_dir>/keys/<service>.key`, every public key in
    `<data_dir>/keys/trusted`: the default locations of `ServiceSettings`."""
    keys = data_dir / "keys"
    for each in all_signers():
        if not (keys / f"{each.service}.key").exists():
            write_private(keys / f"{each.service}.key", each)
        trust_key(keys / "trusted", each.service, each.public)
