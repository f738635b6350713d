"""Every message of the console has its Chinese, and no catalogue keeps what nobody uses.

Read as `pybabel extract` reads them (`web/catalogue.py`): the Python of `web/` and its
templates. Each part of the console keeps its own catalogue; together they must agree.
"""

from __future__ import annotations

import re

from web.catalogue import messages_in, sources, untranslated, unused
from web.i18n import Translations

CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


def test_every_message_used_has_its_chinese() -> None:
    missing = {message: where[0] for message, where in untranslated().items()}
    assert not missing, f"messages without their Chinese (python -m web.catalogue): {missing}"
    zh = Translations.load().zh
    for message in messages_in(sources()):
        said = zh.gettext(message)
        assert CJK.search(said), f"{message!r} → {said!r} is not Chinese"
        assert sorted(PLACEHOLDER.findall(said)) == sorted(PLACEHOLDER.findall(message)), message


def test_no_catalogue_keeps_a_message_nobody_uses() -> None:
    dead = unused()
    assert not dead, f"catalogue entries nobody uses (python -m web.catalogue): {dead}"


def test_english_is_the_message_itself() -> None:
    en = Translations.load().en
    assert en.gettext("Sign in") == "Sign in"
    assert en.ngettext("one file", "%(n)d files", 2) == "%(n)d files"
