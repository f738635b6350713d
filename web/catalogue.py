"""Which English messages the console's code and templates use, read as Babel's extractor does.

`messages_in(paths)` is what `pybabel extract` would find: the tests check that every one has
its Chinese in the catalogues, and that no catalogue keeps a message nobody uses.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_file

HERE = Path(__file__).parent
#: The names a message is written with: `_`/`say` in pages and templates, `N_` for tables,
#: and the first argument of `visit.done` and `NavItem`.
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "say": None,
    "ngettext": (1, 2),
    "done": (1,),  # visit.done(message, to): the message only
    "NavItem": (1,),  # a header link's label
}


def sources(root: Path = HERE) -> list[Path]:
    code = [p for p in root.rglob("*.py") if "tests" not in p.relative_to(root).parts]
    return sorted(code) + sorted((root / "templates").rglob("*.html"))


def messages_in(paths: Iterable[Path]) -> dict[str, list[str]]:
    """Each message id → where it is used (`file:line`)."""
    found: dict[str, list[str]] = {}
    for path in paths:
        method = "jinja2" if path.suffix == ".html" else "python"
        options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
        # Babel warns of every f-string argument of a keyword's call, the target path of
        # `visit.done(message, f"/…")` too; a message itself is always a plain literal here.
        with contextlib.redirect_stderr(io.StringIO()):
            extracted = list(
                extract_from_file(method, str(path), keywords=KEYWORDS, options=options)
            )
        for line, message, _comments, _context in extracted:
            key = message[0] if isinstance(message, tuple) else message
            if key:
                found.setdefault(key, []).append(f"{path.relative_to(HERE.parent)}:{line}")
    return found


def untranslated() -> dict[str, list[str]]:
    """The messages in use without their Chinese in any catalogue."""
    from .i18n import Translations

    zh = Translations.load().zh
    return {m: where for m, where in messages_in(sources()).items() if zh.gettext(m) == m}


def unused() -> dict[str, list[str]]:
    """Each catalogue's entries nobody uses any more."""
    from .i18n import catalogue_files, read_catalogues

    used = set(messages_in(sources()))
    found: dict[str, list[str]] = {}
    for path, catalogue in read_catalogues(catalogue_files()):
        for message in catalogue:
            key = message.id[0] if isinstance(message.id, tuple | list) else message.id
            if key and key not in used:
                found.setdefault(path.name, []).append(str(key))
    return found


def main() -> int:
    """`python -m web.catalogue`: what a translator has to do — messages without Chinese, and
    catalogue entries no longer used. Exit status 1 while there is any."""
    missing, dead = untranslated(), unused()
    for message, where in sorted(missing.items()):
        print(f"untranslated  {where[0]}  {message!r}")
    for name, messages in sorted(dead.items()):
        for message in messages:
            print(f"unused        {name}  {message!r}")
    return 1 if missing or dead else 0


if __name__ == "__main__":
    raise SystemExit(main())
