"""PHREEQC speciation of a serum ultrafiltrate against the reference values (minteq.v4, 37 °C)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ectocalc.chemistry import PHASE_IDS, SUPPORTED_DATABASES, saturation_indices

NORMAL = {"calcium_mmol_l": 1.45, "phosphate_mmol_l": 1.1, "magnesium_mmol_l": 0.65,
          "bicarbonate_mmol_l": 24.0, "ph": 7.40}


def test_normal_serum_matches_reference_values() -> None:
    r = saturation_indices(**NORMAL)
    si = r.saturation_index
    assert si["hydroxyapatite"] == pytest.approx(8.7, abs=0.1)
    assert si["octacalcium_phosphate"] == pytest.approx(0.1, abs=0.1)
    assert si["beta_tcp"] == pytest.approx(1.0, abs=0.1)
    assert si["brushite"] == pytest.approx(-0.6, abs=0.05)
    assert si["amorphous_calcium_phosphate"] < 0  # normal serum does not precipitate ACP
    assert r.free_calcium_mmol_l == pytest.approx(1.18, abs=0.01)
    assert r.ionic_strength == pytest.approx(0.149, abs=0.003)
    assert r.database == "minteq.v4.dat" and r.temperature_c == 37.0
    assert list(si) == list(PHASE_IDS)


def test_chloride_balances_the_charge_unless_given() -> None:
    balanced = saturation_indices(**NORMAL)
    # Na + K + 2 Ca + 2 Mg exceed HCO3 + phosphate by ~125 mEq/L; chloride fills the gap.
    assert balanced.chloride_mmol_l == pytest.approx(124, abs=2)
    fixed = saturation_indices(**NORMAL, chloride_mmol_l=104.0)
    assert fixed.chloride_mmol_l == pytest.approx(104.0, rel=1e-6)
    assert fixed.ionic_strength < balanced.ionic_strength


def test_hyperphosphatemia_moves_brushite_to_saturation() -> None:
    normal = saturation_indices(**NORMAL)
    high = saturation_indices(**{**NORMAL, "phosphate_mmol_l": 2.9})  # 9 mg/dL
    very_high = saturation_indices(**{**NORMAL, "calcium_mmol_l": 1.7, "phosphate_mmol_l": 4.5})
    b0, b1, b2 = (x.saturation_index["brushite"] for x in (normal, high, very_high))
    assert b0 < b1 < b2
    assert b1 > -0.3
    assert b2 > 0


def test_lower_ph_lowers_hydroxyapatite_index() -> None:
    base = saturation_indices(**NORMAL).saturation_index["hydroxyapatite"]
    acid = saturation_indices(**{**NORMAL, "ph": 7.10}).saturation_index["hydroxyapatite"]
    assert acid < base - 0.5


def test_runs_are_independent() -> None:
    first = saturation_indices(**NORMAL)
    saturation_indices(**{**NORMAL, "phosphate_mmol_l": 3.0, "ph": 7.1})
    assert saturation_indices(**NORMAL) == first


def test_database_is_named_and_changes_the_answer() -> None:
    minteq = saturation_indices(**NORMAL)
    other = saturation_indices(**NORMAL, database="phreeqc.dat")
    assert other.database == "phreeqc.dat"
    assert abs(other.saturation_index["hydroxyapatite"]
               - minteq.saturation_index["hydroxyapatite"]) > 1.0
    assert "Dorozhkin 2010" in other.phase_sources["brushite"]
    assert "minteq.v4.dat phase 'CaHPO4:2H2O'" in minteq.phase_sources["brushite"]
    assert "Dorozhkin 2010" in minteq.phase_sources["amorphous_calcium_phosphate"]
    assert set(SUPPORTED_DATABASES) >= {"minteq.v4.dat", "phreeqc.dat"}


@pytest.mark.parametrize("change", [{"phosphate_mmol_l": 0.0}, {"calcium_mmol_l": -1.0},
                                    {"ph": 74.0}, {"database": "llnl.dat"},
                                    {"bicarbonate_mmol_l": float("nan")}])
def test_bad_arguments_raise(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        saturation_indices(**{**NORMAL, **change})  # type: ignore[arg-type]


_pair = st.tuples(st.floats(0.6, 3.0), st.floats(0.6, 3.0)).filter(lambda ab: ab[1] - ab[0] > 0.05)
_other = st.fixed_dictionaries({"magnesium_mmol_l": st.floats(0.2, 1.5),
                                "bicarbonate_mmol_l": st.floats(12.0, 35.0),
                                "ph": st.floats(7.0, 7.7)})


@settings(max_examples=25, deadline=None)
@given(calcium=_pair, phosphate=st.floats(0.4, 4.0), other=_other)
def test_indices_rise_with_calcium(calcium: tuple[float, float], phosphate: float,
                                   other: dict[str, float]) -> None:
    low, high = (saturation_indices(calcium_mmol_l=c, phosphate_mmol_l=phosphate, **other)
                 for c in calcium)
    for pid in PHASE_IDS:
        assert high.saturation_index[pid] > low.saturation_index[pid], pid


@settings(max_examples=25, deadline=None)
@given(phosphate=_pair, calcium=st.floats(0.8, 2.5), other=_other)
def test_indices_rise_with_phosphate(phosphate: tuple[float, float], calcium: float,
                                     other: dict[str, float]) -> None:
    low, high = (saturation_indices(calcium_mmol_l=calcium, phosphate_mmol_l=p, **other)
                 for p in phosphate)
    for pid in PHASE_IDS:
        assert high.saturation_index[pid] > low.saturation_index[pid], pid
