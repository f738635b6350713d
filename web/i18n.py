"""The console's two languages: 简体中文 by default, English by a switch.

Messages are written in English in the code and the templates (the msgid); the Chinese comes
from the message catalogues `web/locale/zh/LC_MESSAGES/*.po` (one per part of the console),
read with Babel when the console starts — there is no compile step. English is the msgid.
`N_` marks a message for the extractor where it is translated later (a table of labels).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"
#: The `lang` attribute of each language's pages (BCP 47).
HTML_LANG: Mapping[Language, str] = {"zh": "zh-Hans", "en": "en"}
LOCALE_DIR = Path(__file__).parent / "locale"
#: The values a message is filled with: `%(name)s` in pages, `{name}` in web/errors.py.
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


def N_(message: str) -> str:  # noqa: N802 -- gettext's name for "mark, translate later"
    return message


def language(value: object) -> Language:
    """`value` if it names a language of the console, else the default."""
    return "en" if value == "en" else DEFAULT_LANGUAGE


def catalogue_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted((locale_dir / "zh" / "LC_MESSAGES").glob("*.po"))


def read_catalogues(files: list[Path]) -> Iterator[tuple[Path, Catalog]]:
    for path in files:
        with path.open("rb") as po:
            yield path, read_po(po, locale="zh_Hans_CN")


@dataclass(frozen=True)
class Translator:
    """One language's `gettext` and `ngettext` (msgids are English; plural forms by `n`)."""

    language: Language
    messages: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def gettext(self, message: str) -> str:
        found = self.messages.get(message)
        return found if isinstance(found, str) and found else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self.messages.get(singular)
        if isinstance(found, tuple) and found and found[0]:
            return found[0]  # Chinese has one plural form
        return singular if n == 1 else plural


@dataclass(frozen=True)
class Translations:
    """Both languages' translators, read once at start-up."""

    zh: Translator
    en: Translator

    @classmethod
    def load(cls, locale_dir: Path = LOCALE_DIR) -> Translations:
        messages: dict[str, str | tuple[str, ...]] = {}
        for path, catalogue in read_catalogues(catalogue_files(locale_dir)):
            for message in catalogue:
                if not message.id or message.fuzzy:
                    continue
                key = str(message.id[0] if isinstance(message.id, tuple | list) else message.id)
                string = message.string
                translated: str | tuple[str, ...] = (
                    tuple(string) if isinstance(string, tuple | list) else str(string or "")
                )
                if key in messages and messages[key] != translated:
                    raise ValueError(f"{path.name}: {key!r} translated differently elsewhere")
                said = translated if isinstance(translated, str) else " ".join(translated)
                if said and sorted(_PLACEHOLDER.findall(said)) != sorted(_PLACEHOLDER.findall(key)):
                    # a translator's typo would otherwise fail only the Chinese page, at `%`
                    raise ValueError(f"{path.name}: {key!r}'s placeholders differ in {said!r}")
                messages[key] = translated
        return cls(zh=Translator("zh", messages), en=Translator("en"))

    def __getitem__(self, language: Language) -> Translator:
        return self.zh if language == "zh" else self.en
