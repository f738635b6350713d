"""The unified social credit code (统一社会信用代码, GB 32100-2015): its check character, and
deterministic valid codes for the units the demo and the scenarios register.

Eighteen characters: the registration authority (1), the kind of organisation (1), the
administrative division of registration (6), the organisation code (9, GB 11714, its own check
character last) and the check character (1). The check character is drawn from the 31
characters below (no I, O, S, V, Z): with the weights of positions 1–17 and the characters'
values, check = (31 − Σ value × weight mod 31) mod 31.
"""

from __future__ import annotations

import hashlib

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {character: value for value, character in enumerate(CHARSET)}

# GB 11714: the organisation code's eight body characters (digits and capital letters, A = 10)
# and its check character (0–9 or X).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


class InvalidCreditCode(ValueError):
    """Not a unified social credit code: wrong length, character or check character."""


def check_character(first17: str) -> str:
    """The 18th character of the code whose first 17 characters are `first17`."""
    if len(first17) != 17:
        raise InvalidCreditCode(f"17 characters are needed before the check, not {len(first17)}")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    except KeyError as bad:
        raise InvalidCreditCode(f"{bad.args[0]!r} is not a credit-code character") from None
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """18 characters of the code's alphabet whose last is the check character of the rest."""
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_character(code[:17]) == code[17]


def organisation_check(body: str) -> str:
    """GB 11714's check character of an organisation code's eight body characters."""
    if len(body) != 8 or not all(c.isdigit() or "A" <= c <= "Z" for c in body):
        raise InvalidCreditCode(f"an organisation code body is 8 digits or capitals: {body!r}")
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def division_code(jurisdiction: str) -> str:
    """An administrative division code of any length (`53`, `5301`) as its six digits."""
    if not jurisdiction.isdigit() or len(jurisdiction) > 6 or len(jurisdiction) % 2:
        raise InvalidCreditCode(f"not an administrative division code: {jurisdiction!r}")
    return jurisdiction.ljust(6, "0")


def credit_code(seed: str, jurisdiction: str, authority: str = "1", kind: str = "2") -> str:
    """A valid code for a unit registered in `jurisdiction`, the same for the same `seed`.

    `authority` and `kind`: 1 and 1 an organ of the state (a park's management committee),
    1 and 2 a public institution (a university), 9 and 1 an enterprise.
    """
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    body = str(int(digest, 16))[-8:].rjust(8, "0")
    first17 = f"{authority}{kind}{division_code(jurisdiction)}{body}{organisation_check(body)}"
    return first17 + check_character(first17)
