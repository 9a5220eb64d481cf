"""The analyte catalogue: codes, conversions, ranges and flags."""

from __future__ import annotations

import pytest

from ectocalc.errors import InputError
from ectocalc.knowledge import load_knowledge
from ectocalc.labs.catalogue import convert, flag_value
from ectocalc.labs.results import make_lab_result

CATALOGUE = load_knowledge().analytes

CONTRACT_ANALYTES = [
    "calcium", "ionized_calcium", "phosphate", "magnesium", "albumin", "creatinine",
    "cystatin_c", "pth", "alkaline_phosphatase", "vitamin_d_25oh",
    "urine_albumin_creatinine_ratio", "bicarbonate", "ph", "urine_phosphate",
    "urine_creatinine", "plasma_ppi", "fgf23",
]

# LOINC codes as tabulated in shared/references/clinical.md.
REFERENCE_LOINC = {
    "17861-6": "calcium", "2000-8": "calcium", "1995-0": "ionized_calcium",
    "1994-3": "ionized_calcium", "2777-1": "phosphate", "14879-1": "phosphate",
    "19123-9": "magnesium", "2601-3": "magnesium", "1751-7": "albumin",
    "2160-0": "creatinine", "14682-9": "creatinine", "2731-8": "pth", "14866-8": "pth",
    "6768-6": "alkaline_phosphatase", "62292-8": "vitamin_d_25oh", "33863-2": "cystatin_c",
    "9318-7": "urine_albumin_creatinine_ratio", "14959-1": "urine_albumin_creatinine_ratio",
}


def test_every_contract_analyte_is_catalogued() -> None:
    assert set(CONTRACT_ANALYTES) <= set(CATALOGUE.analytes)


@pytest.mark.parametrize(("code", "analyte_id"), sorted(REFERENCE_LOINC.items()))
def test_loinc_codes_resolve(code: str, analyte_id: str) -> None:
    entry = CATALOGUE.find(code)
    assert entry is not None and entry.id == analyte_id


@pytest.mark.parametrize(
    ("analyte_id", "value", "unit", "expected"),
    [
        ("calcium", 2.5, "mmol/L", 2.5 / 0.2495),
        ("calcium", 5.0, "mEq/L", 2.5 / 0.2495),
        ("phosphate", 1.45, "mmol/L", 1.45 / 0.3229),
        ("magnesium", 0.99, "mmol/L", 0.99 / 0.4114),
        ("magnesium", 2.0, "meq/L", 1.0 / 0.4114),
        ("albumin", 40, "g/L", 4.0),
        ("creatinine", 88.4, "umol/L", 1.0),
        ("creatinine", 88.4, "µmol/L", 1.0),
        ("pth", 6.9, "pmol/L", 6.9 / 0.106),
        ("alkaline_phosphatase", 2.0, "ukat/L", 120.0),
        ("vitamin_d_25oh", 49.92, "nmol/L", 20.0),
        ("urine_albumin_creatinine_ratio", 3.0, "mg/mmol", 26.52),
        ("ionized_calcium", 4.6, "mg/dL", 4.6 * 0.2495),
    ],
)
def test_conversions(analyte_id: str, value: float, unit: str, expected: float) -> None:
    entry = CATALOGUE.find(analyte_id)
    assert entry is not None
    assert convert(value, unit, entry) == pytest.approx(expected, rel=2e-3)


def test_lab_range_converted_and_unit_case_insensitive() -> None:
    result = make_lab_result(source="c.yaml", field="labs[0]", analyte_name="phosphate",
                             value=2.0, unit="MMOL/L", reference_range=(0.8, 1.45))
    assert result.canonical_unit == "mg/dL"
    # Converted at the 4 significant digits of the unit factors (0.8 x 3.097 = 2.4776).
    assert result.reference_range == (2.478, 4.491)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"analyte_name": "unobtainium", "value": 1, "unit": "mg/dL"}, "labs[0].analyte",
         "unknown analyte"),
        ({"loinc": "0000-0", "value": 1, "unit": "mg/dL"}, "labs[0].loinc", "not a supported"),
        ({"analyte_name": "calcium", "value": 9, "unit": "mg"}, "labs[0].unit", "not convertible"),
        ({"analyte_name": "calcium", "value": 95, "unit": "mg/dL"}, "labs[0].value",
         "physiologically impossible"),
        ({"analyte_name": "phosphate", "value": -1, "unit": "mg/dL"}, "labs[0].value",
         "physiologically impossible"),
        ({"analyte_name": "calcium", "value": "high", "unit": "mg/dL"}, "labs[0].value",
         "must be a finite number"),
        ({"analyte_name": "calcium", "value": float("nan"), "unit": "mg/dL"}, "labs[0].value",
         "must be a finite number"),
        ({"analyte_name": "calcium", "value": 9, "unit": "mg/dL",
          "reference_range": (float("nan"), 10.0)}, "labs[0].reference_range", "finite"),
        ({"analyte_name": "calcium", "loinc": "2777-1", "value": 9, "unit": "mg/dL"},
         "labs[0].loinc", "is phosphate, not calcium"),
    ],
)
def test_bad_lab_entries(kwargs: dict, field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        make_lab_result(source="c.yaml", field="labs[0]", **kwargs)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(caught.value).startswith("c.yaml: ")


@pytest.mark.parametrize(
    ("value", "flag"),
    [(8.59, "low"), (8.6, "normal"), (10.2, "normal"), (10.21, "high"), (5.9, "critical_low"),
     (13.1, "critical_high")],
)
def test_calcium_flags(value: float, flag: str) -> None:
    entry = CATALOGUE.find("calcium")
    assert entry is not None
    assert flag_value(value, entry.reference, entry.critical) == flag


def test_fgf23_assay_units_are_not_interconverted() -> None:
    c_terminal = make_lab_result(source="c", field="labs[0]", analyte_name="fgf23", value=250,
                                 unit="RU/mL")
    assert (c_terminal.canonical_value, c_terminal.canonical_unit) == (250, "RU/mL")
