"""From a case's labs to the assessment's ``chemistry`` section."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ectocalc.chemistry import LABEL, PHASE_IDS, reading, serum_chemistry
from ectocalc.knowledge import load_knowledge
from ectocalc.model.case import Case, LabResult
from ectocalc.model.display import rounded

KB = load_knowledge()
NEAR = KB.chemistry.near_brushite_saturation

UNITS = {"calcium": "mg/dL", "ionized_calcium": "mmol/L", "phosphate": "mg/dL",
         "magnesium": "mg/dL", "albumin": "g/dL", "bicarbonate": "mmol/L", "ph": "[pH]",
         "sodium": "mmol/L", "potassium": "mmol/L", "chloride": "mmol/L"}


def lab(analyte: str, value: float, reference_range: tuple[float, float] | None = None
        ) -> LabResult:
    unit = UNITS[analyte]
    return LabResult(analyte=analyte, value=value, unit=unit, canonical_value=value,
                     canonical_unit=unit, reference_range=reference_range)


def case(**values: float) -> Case:
    return Case(labs=[lab(name, value) for name, value in values.items()])


# Normal serum: ionized Ca 1.18 mM, P 3.4 mg/dL (1.10 mM), Mg 2.26 mg/dL (0.65 mM ultrafilterable).
NORMAL = {"ionized_calcium": 1.18, "phosphate": 3.4, "magnesium": 2.26, "bicarbonate": 24.0,
          "ph": 7.40}
KEYS = {"database", "temperature_c", "saturation_index", "ionic_strength", "free_calcium_mmol_l",
        "assumptions", "what_if", "label", "reading", "inputs"}


def section(**values: float) -> dict[str, Any]:
    outcome = serum_chemistry(case(**values), knowledge=KB)
    assert outcome.section is not None, outcome.note
    assert outcome.missing == []
    return outcome.section


def test_normal_serum_from_ionized_calcium() -> None:
    s = section(**NORMAL)
    assert set(s) == KEYS
    assert s["label"] == LABEL and "not a calcification propensity (T50)" in s["label"]
    assert s["database"] == "minteq.v4.dat" and s["temperature_c"] == 37
    si = s["saturation_index"]
    assert list(si) == list(PHASE_IDS)
    assert si["hydroxyapatite"] == pytest.approx(8.7, abs=0.1)
    assert si["brushite"] == pytest.approx(-0.6, abs=0.05)
    assert si["octacalcium_phosphate"] == pytest.approx(0.1, abs=0.1)
    assert si["beta_tcp"] == pytest.approx(1.0, abs=0.1)
    assert s["free_calcium_mmol_l"] == pytest.approx(1.18, abs=0.001)
    assert s["ionic_strength"] == pytest.approx(0.149, abs=0.003)
    uf = s["inputs"]["ultrafilterable_mmol_l"]
    assert uf["calcium"] == pytest.approx(1.45, abs=0.01)
    assert uf["phosphate"] == pytest.approx(1.098, abs=0.001)
    assert uf["magnesium"] == pytest.approx(0.65, abs=0.01)
    assert s["inputs"]["calcium_basis"] == "ionized_calcium"
    assert s["reading"] == reading(rounded(s, prefix="chemistry"), near_saturation=NEAR)
    assert s["reading"].startswith("supersaturated with respect to hydroxyapatite")
    json.dumps(s)  # JSON-serialisable


def test_total_calcium_and_albumin_path() -> None:
    s = section(calcium=9.6, albumin=4.0, phosphate=3.4, magnesium=2.0, bicarbonate=24.0)
    # (9.6 - 0.8 × 4.0) mg/dL × 0.2495 = 1.597 mmol/L ultrafilterable
    assert s["inputs"]["ultrafilterable_mmol_l"]["calcium"] == pytest.approx(1.5968, abs=1e-4)
    assert s["inputs"]["calcium_basis"] == "total_calcium_and_albumin"
    assert any("0.8 × albumin" in a for a in s["assumptions"])
    assert s["free_calcium_mmol_l"] == pytest.approx(1.29, abs=0.02)


def test_ionized_calcium_wins_over_total() -> None:
    s = section(**NORMAL, calcium=12.0, albumin=2.0)
    assert s["inputs"]["calcium_basis"] == "ionized_calcium"
    assert "calcium" not in s["inputs"]


@pytest.mark.parametrize(("drop", "add", "missing"), [
    ("phosphate", {}, ["phosphate"]),
    ("ionized_calcium", {}, ["calcium"]),
    ("ionized_calcium", {"calcium": 9.5}, ["albumin"]),
    ("magnesium", {}, ["magnesium"]),
    ("bicarbonate", {}, ["bicarbonate"]),
])
def test_missing_input_gives_no_section(drop: str, add: dict[str, float],
                                        missing: list[str]) -> None:
    values = {k: v for k, v in NORMAL.items() if k != drop} | add
    outcome = serum_chemistry(case(**values), knowledge=KB)
    assert outcome.section is None
    assert outcome.missing == missing
    assert outcome.note is not None and missing[0] in outcome.note


def test_impossible_total_calcium_asks_for_ionized() -> None:
    outcome = serum_chemistry(case(calcium=3.0, albumin=4.5, phosphate=3.4, magnesium=2.0,
                                   bicarbonate=24.0), knowledge=KB)
    assert outcome.section is None and outcome.missing == ["ionized_calcium"]


def test_default_ph_is_stated() -> None:
    s = section(**{k: v for k, v in NORMAL.items() if k != "ph"})
    assert "pH not measured: 7.40 assumed (typical value)" in s["assumptions"]
    assert s["inputs"]["ph"] == {"value": 7.4, "unit": "[pH]", "origin": "default"}
    measured = section(**NORMAL)
    assert not any(a.startswith("pH") for a in measured["assumptions"])
    assert measured["inputs"]["ph"]["origin"] == "measured"


def test_measured_electrolytes_are_used_and_chloride_balanced() -> None:
    s = section(**NORMAL, sodium=130.0, potassium=5.5, chloride=98.0)
    assert s["inputs"]["sodium"]["origin"] == "measured"
    assert not any("sodium not measured" in a for a in s["assumptions"])
    assert any("for electroneutrality" in a and "measured 98 mmol/L" in a
               for a in s["assumptions"])
    defaults = section(**NORMAL)
    assert "sodium not measured: 140 mmol/L assumed (typical value)" in defaults["assumptions"]
    assert "potassium not measured: 4.5 mmol/L assumed (typical value)" in defaults["assumptions"]


def test_what_if_lowers_indices_when_phosphate_is_high() -> None:
    s = section(**{**NORMAL, "phosphate": 8.0})
    w = s["what_if"]
    assert w["applied"] is True and w["phosphate_mg_dl"] == 4.5
    for pid in ("hydroxyapatite", "brushite"):
        assert w["saturation_index"][pid] < s["saturation_index"][pid] - 0.1
    assert s["saturation_index"]["brushite"] > -0.3  # hyperphosphatemia: towards saturation
    assert w["saturation_index"]["brushite"] == pytest.approx(-0.48, abs=0.05)
    assert "upper reference limit (4.5 mg/dL)" in s["reading"]


def test_what_if_uses_the_laboratory_range() -> None:
    labs = [lab(k, v) for k, v in NORMAL.items() if k != "phosphate"]
    labs.append(lab("phosphate", 6.0, reference_range=(2.7, 5.0)))
    s = serum_chemistry(Case(labs=labs), knowledge=KB).section
    assert s is not None
    assert s["what_if"]["phosphate_mg_dl"] == 5.0
    assert s["what_if"]["basis"] == "laboratory reference range"


def test_what_if_omitted_with_reason_when_phosphate_is_normal() -> None:
    w = section(**NORMAL)["what_if"]
    assert w["applied"] is False
    assert "not above the upper reference limit 4.5 mg/dL" in w["reason"]


def _si(**changes: float) -> dict[str, Any]:
    base = {"hydroxyapatite": 8.76, "octacalcium_phosphate": 0.12, "beta_tcp": 1.05,
            "brushite": -0.61, "amorphous_calcium_phosphate": -1.81}
    return {"saturation_index": base | changes, "what_if": {"applied": False}}


@pytest.mark.parametrize(("changes", "start"), [
    ({}, "supersaturated with respect to hydroxyapatite (SI +8.76) but not brushite (SI -0.61)"),
    ({"brushite": -0.2}, "close to saturation with respect to brushite (SI -0.20"),
    ({"brushite": 0.15}, "supersaturated with respect to brushite (SI +0.15): the state in which "
                         "deposits form readily"),
    ({"brushite": 0.4, "amorphous_calcium_phosphate": 0.1},
     "supersaturated even with respect to amorphous calcium phosphate (SI +0.10)"),
    ({"hydroxyapatite": -0.5, "brushite": -4.0}, "undersaturated with respect to hydroxyapatite"),
])
def test_reading_is_one_line(changes: dict[str, float], start: str) -> None:
    line = reading(_si(**changes), near_saturation=NEAR)
    assert line.startswith(start)
    assert "\n" not in line


def test_anions_exceeding_cations_balance_on_chloride() -> None:
    """Bicarbonate 41, phosphate 8.0 mg/dL, total Ca 5.5 / albumin 2.3: the anions as given
    exceed the cations, so no stand-in anion can carry a gap (PHREEQC did not converge on it):
    chloride is set by electroneutrality instead, below its assumed 102.5 mmol/L, and said so."""
    s = section(calcium=5.5, albumin=2.3, phosphate=8.0, magnesium=1.0, bicarbonate=41.0,
                ph=7.5)
    note = next(a for a in s["assumptions"] if "anions as given exceed the cations" in a)
    assert "anion gap -" in note and "check the electrolytes" in note
    assert not any("stand-in anion carries" in a for a in s["assumptions"])
    assert s["inputs"]["ultrafilterable_mmol_l"]["chloride"] < 102.5
    normal = section(**NORMAL)
    assert any("stand-in anion carries the anion gap" in a for a in normal["assumptions"])
