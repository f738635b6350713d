"""The search terms: CJK characters and pairs, Latin words; a query's terms a subset."""

from __future__ import annotations

import pytest

from shared.search import MAX_QUERY_TERMS, query_terms, terms


def test_cjk_text_gives_its_characters_and_their_pairs() -> None:
    assert terms("昆明理工") == {"昆", "明", "理", "工", "昆明", "明理", "理工"}


def test_latin_text_and_codes_give_lower_cased_words() -> None:
    assert terms("91530100MA6K0XYZ1A Photonics-Lab") == {"91530100ma6k0xyz1a", "photonics", "lab"}


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("理工", ["理工"]),
        ("理", ["理"]),
        ("昆明理工", ["明理", "昆明", "理工"]),
        ("昆明 大学", ["大学", "昆明"]),
        ("KUST 理工", ["kust", "理工"]),
        ("！？ ·", []),
    ],
)
def test_a_query_is_cut_into_pairs_and_words(query: str, wanted: list[str]) -> None:
    assert query_terms(query) == sorted(wanted)


@pytest.mark.parametrize("query", ["理工", "昆明", "昆明理工大学", "大学", "91530100ma6k0xyz1a"])
def test_every_term_of_a_matching_query_is_among_the_texts_terms(query: str) -> None:
    assert set(query_terms(query)) <= terms("昆明理工大学", "91530100MA6K0XYZ1A")


def test_a_query_has_at_most_max_query_terms() -> None:
    assert len(query_terms("一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑")) == MAX_QUERY_TERMS
