"""Signed events: every service signs what it produces; consumers and auditors verify.

The hash chain shows that a stream was not altered after the fact; it says nothing about WHO
wrote it (anyone who can publish can seal a chain of their own). So each service holds an
Ed25519 private key and signs every event it appends, over the canonical bytes of the sealed
envelope (hash included) plus the key id: `Envelope.signed_bytes()`. The signature travels
in two CloudEvents extension attributes, `sigkeyid` (`<service>:<fingerprint>`) and
`signature` (base64url, unpadded).

Trust is a directory of public keys (`trusted_keys_dir`), one PEM file per key, named
`<service>.pem` or `<service>.<anything>.pem`: the file name says which service the key speaks
for. Several keys per service are allowed, so a key rotates without downtime: publish the new
public key to every consumer's directory, switch the producer's private key, and remove the old
public key once nothing signed with it is still to be consumed (reconcile republishes from the
stores, which keep the signature they were written with: keep the old public key as long as
events signed with it may be republished; `haizhi audit verify` keeps it for the record).

A signature is valid for an event when: the key id is in the directory, the signature verifies
under that key, and the key's service owns the event: its `type` is `haizhi.<service>.…`, its
`source` is `/haizhi/<service>` (the NATS subject is derived from the type, so it is checked by
the consumer against the message's subject).

Verification runs on libsodium (PyNaCl), about twice as fast as OpenSSL's Ed25519 here (53
against 105 µs of CPU): `TrustedKeys.prepare` does the checks that need Python (hash, key, the
signed bytes), `Verification.run` the Ed25519 step alone, which lets go of the GIL and so may
run on another thread; `check` is both, in order. (Splitting a consumer's batch over two
threads was measured: no faster on a busy two-core machine, and 15–25 µs more CPU per message
in GIL hand-offs, one per signature.)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from shared.envelope import TYPE_PREFIX, Envelope
from shared.settings import SERVICE_NAME


class Untrusted:
    """Why an event is refused: the `Haizhi-Reason` of its dead letter and the metric label."""

    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown-key"
    BAD_SIGNATURE = "bad-signature"
    WRONG_SERVICE = "wrong-service"
    BAD_HASH = "bad-hash"
    WRONG_SUBJECT = "wrong-subject"


def raw_public(public: Ed25519PublicKey) -> bytes:
    """The key's 32 bytes (RFC 8032's encoding)."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


def key_id(service: str, public: Ed25519PublicKey) -> str:
    return f"{service}:{fingerprint(public)}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """One service's private key: signs the envelopes its store seals."""

    service: str
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @cached_property
    def key_id(self) -> str:
        """Derived from the key, which never changes: computed once (once per append before)."""
        return key_id(self.service, self.public)

    @cached_property
    def _libsodium_key(self) -> bytes:
        """The same key as libsodium holds it (seed and public key): Ed25519 signatures are
        deterministic, so libsodium's are `cryptography`'s, byte for byte, for a third less
        CPU (23 against 35 µs here)."""
        return bytes(crypto_sign_seed_keypair(self.private.private_bytes_raw())[1])

    def sign(self, envelope: Envelope) -> Envelope:
        """`envelope` (sealed) with `sigkeyid` and `signature` set."""
        keyed = replace(envelope, sigkeyid=self.key_id, signature=None)
        # `keyed` is our own copy, seen by no one yet: signed in place, not copied again.
        object.__setattr__(keyed, "signature", self.signature(keyed.signed_bytes()))
        return keyed

    def signature(self, signed_bytes: bytes) -> str:
        """The signature of `signed_bytes` (an envelope's `signed_bytes()`), base64url."""
        return _b64(crypto_sign(signed_bytes, self._libsodium_key)[:64])

    @classmethod
    def generate(cls, service: str) -> Signer:
        return cls(service, Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, service: str, path: Path) -> Signer:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(service, private)

    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return public_pem(self.public)


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_private(path: Path, signer: Signer) -> None:
    """Write a private key readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(signer.private_pem())
    os.replace(temporary, path)


def trust_key(directory: Path, service: str, public: Ed25519PublicKey) -> Path:
    """Put `public` in a trusted-keys directory as a key of `service` (idempotent)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{service}.{fingerprint(public)}.pem"
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(public_pem(public))
        os.replace(temporary, path)
    return path


def development_signer(service: str, key_path: Path, trusted_dir: Path) -> Signer:
    """The embedded default: the service's key, generated at first start (0600), and its
    public key in the shared trusted-keys directory, so every local service trusts it."""
    if key_path.exists():
        signer = Signer.load(service, key_path)
    else:
        signer = Signer.generate(service)
        write_private(key_path, signer)
        signer = Signer.load(service, key_path)  # another process may have won the race
    trust_key(trusted_dir, service, signer.public)
    return signer


@dataclass
class TrustedKeys:
    """Key id -> (service, public key); re-read when its directory changes (rotation)."""

    keys: dict[str, tuple[str, Ed25519PublicKey]] = field(default_factory=dict)
    directory: Path | None = None
    _seen: int | None = field(default=None, repr=False)
    _raw_keys: dict[str, tuple[Ed25519PublicKey, bytes]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, *pairs: tuple[str, Ed25519PublicKey]) -> TrustedKeys:
        return cls({key_id(service, public): (service, public) for service, public in pairs})

    @classmethod
    def from_directory(cls, directory: Path) -> TrustedKeys:
        trusted = cls(directory=directory)
        trusted.refresh()
        return trusted

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the directory if it changed since the last read (a key added or removed);
        `force`: even if its time stamp says not (it is coarse: two changes in one tick)."""
        if self.directory is None:
            return
        try:
            seen = self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            self.keys, self._seen = {}, None
            return
        if seen == self._seen and not force:
            return
        keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
        for path in sorted(self.directory.glob("*.pem")):
            service = path.name.split(".", 1)[0]
            public = serialization.load_pem_public_key(path.read_bytes())
            if isinstance(public, Ed25519PublicKey):
                keys[key_id(service, public)] = (service, public)
        self.keys, self._seen = keys, seen

    def check(self, envelope: Envelope) -> str | None:
        """None when `envelope` is signed by a trusted key of the service that owns it;
        otherwise the reason (`Untrusted`)."""
        prepared = self.prepare(envelope)
        return prepared if isinstance(prepared, str) else prepared.run()

    def check_received(self, envelope: Envelope, subject: str) -> str | None:
        """`check` of an envelope received on `subject`, which must be its own (the NATS
        subject is derived from the type, so the signature does not cover it)."""
        reason = self.check(envelope)
        if reason is None and not published_on(envelope, subject):
            return Untrusted.WRONG_SUBJECT
        return reason

    def prepare(self, envelope: Envelope) -> str | Verification:
        """Every step of `check` before the Ed25519 verification: the reason to refuse
        `envelope` already, or the `Verification` still to run (on any thread)."""
        if not envelope.signature or not envelope.sigkeyid:
            return Untrusted.UNSIGNED
        # What a wire may carry that no producer writes: refused, never raised.
        if type(envelope.sigkeyid) is not str:
            return Untrusted.UNKNOWN_KEY
        if type(envelope.signature) is not str:
            return Untrusted.BAD_SIGNATURE
        try:
            hashed, signed = envelope.covered_bytes()
        except (ValueError, TypeError, RecursionError):  # NaN, Infinity: no canonical JSON
            return Untrusted.BAD_HASH
        if hashlib.sha256(hashed).hexdigest() != envelope.hash:
            return Untrusted.BAD_HASH
        self.refresh()
        found = self.keys.get(envelope.sigkeyid)
        if found is None and self.directory is not None:
            self.refresh(force=True)  # a key added since, in the same tick
            found = self.keys.get(envelope.sigkeyid)
        if found is None:
            return Untrusted.UNKNOWN_KEY
        service, public = found
        try:
            signature = _unb64(envelope.signature)
        except ValueError:
            return Untrusted.BAD_SIGNATURE
        if len(signature) != SIGNATURE_BYTES:
            return Untrusted.BAD_SIGNATURE
        return Verification(
            envelope, service, self._raw(envelope.sigkeyid, public), signature + signed
        )

    def _raw(self, sigkeyid: str, public: Ed25519PublicKey) -> bytes:
        """`public`'s raw bytes, kept while `keys` holds this very key object."""
        cached = self._raw_keys.get(sigkeyid)
        if cached is None or cached[0] is not public:
            cached = self._raw_keys[sigkeyid] = (public, raw_public(public))
        return cached[1]


SIGNATURE_BYTES = 64


@dataclass(frozen=True, slots=True)
class Verification:
    """The Ed25519 step of `TrustedKeys.check` for one envelope, whose other checks passed:
    `signed` is the signature followed by the bytes it covers (libsodium's signed message)."""

    envelope: Envelope
    service: str
    public: bytes
    signed: bytes

    def run(self) -> str | None:
        """None when the signature verifies and its key's service owns the envelope;
        otherwise the reason. libsodium releases the GIL while it verifies."""
        try:
            crypto_sign_open(self.signed, self.public)
        except (BadSignatureError, ValueError):
            return Untrusted.BAD_SIGNATURE
        if not owned_by(self.envelope, self.service):
            return Untrusted.WRONG_SERVICE
        return None


def published_on(envelope: Envelope, subject: str) -> bool:
    """Whether `subject` is where `envelope` is published (a type of another shape than ours
    has no such subject)."""
    try:
        return subject == envelope.nats_subject
    except ValueError:
        return False


def owned_by(envelope: Envelope, service: str) -> bool:
    """Whether `service` may speak for `envelope`: its type and source are the service's."""
    return envelope.type.startswith(f"{TYPE_PREFIX}.{service}.") and (
        envelope.source == f"/{TYPE_PREFIX}/{service}"
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.signing keys DIR SERVICE...`: each service's development key
    (`DIR/<service>.key`, 0600) made where missing, and its public key in `DIR/trusted`.

    For a deployment that runs on development keys (the compose file's default): production
    keys are made and kept in the secret store, never by the services (docs/deployment.md).
    """
    parser = argparse.ArgumentParser(prog="python -m shared.signing", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="make the missing development keys")
    keys.add_argument("directory", type=Path)
    keys.add_argument("services", nargs="+")
    args = parser.parse_args(argv)
    if wrong := [name for name in args.services if not SERVICE_NAME.fullmatch(name)]:
        parser.error(f"not a service's name: {', '.join(wrong)}")
    for service in args.services:
        signer = development_signer(
            service, args.directory / f"{service}.key", args.directory / "trusted"
        )
        print(f"{service}: {signer.key_id}")


if __name__ == "__main__":
    main()
