"""scales.yaml: validated, every source a bibliography id, every concept known."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml
from pydantic import ValidationError

from ectocalc.knowledge import load_knowledge
from ectocalc.scales import ScalesFile, load_scales


def _raw() -> dict:
    return yaml.safe_load(files("ectocalc.knowledge").joinpath("data", "scales.yaml").read_text())


def test_packaged_file_is_part_of_the_bundle() -> None:
    knowledge = load_knowledge()
    spec = load_scales(knowledge)
    assert spec.mesa_chd_10y.models["without_cac"].baseline_survival == 0.99963
    bibliography = knowledge.bibliography.sources
    assert all(s.partition(":")[0] in bibliography for s in spec.sources())


def test_missing_coefficient_refused() -> None:
    raw = _raw()
    del raw["mesa_chd_10y"]["models"]["with_cac"]["coefficients"]["black"]
    with pytest.raises(ValidationError, match="black"):
        ScalesFile.model_validate(raw)


def test_no_cac_term_in_the_model_without_cac() -> None:
    raw = _raw()
    raw["mesa_chd_10y"]["models"]["without_cac"]["coefficients"]["ln_cac_plus_1"] = 0.1
    with pytest.raises(ValidationError, match="ln_cac_plus_1"):
        ScalesFile.model_validate(raw)


def test_band_needs_exactly_one_bound() -> None:
    raw = _raw()
    raw["cac_drs"]["bands"][1]["at_least"] = 1
    with pytest.raises(ValidationError, match="exactly one of at_least / above"):
        ScalesFile.model_validate(raw)
