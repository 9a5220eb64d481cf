"""The patient summary has plain words for every identifier an assessment can contain."""

from __future__ import annotations

import pytest

from ectocalc.knowledge.schema import (
    CERTAINTIES,
    MANAGEMENT,
    MECHANISMS,
    SYNDROMES,
    TYPES,
    WORKUP,
)
from ectocalc.render.patient import lay_terms


@pytest.mark.parametrize(("section", "ids"), [
    ("mechanism", MECHANISMS), ("types", TYPES), ("syndromes", SYNDROMES), ("workup", WORKUP),
    ("management", MANAGEMENT),
])
def test_every_contract_identifier_has_plain_words(section: str, ids: tuple[str, ...]) -> None:
    terms = lay_terms()[section]
    assert set(terms) == set(ids)
    assert all(isinstance(text, str) and text.strip() for text in terms.values())


def test_certainty_words_cover_the_syndrome_levels() -> None:
    assert set(lay_terms()["certainty"]) == set(CERTAINTIES)

