"""Paediatric reference intervals: CALIPER's published partitions, by age and sex.

Expected values are the Abbott CALIPER table (Colantonio et al., Clin Chem 2012;58:854-868,
Table 2) in its published units, and their conversion to the canonical unit.
"""

from __future__ import annotations

from typing import Any

import pytest

from ectocalc.io.case_file import case_from_mapping
from ectocalc.knowledge import load_knowledge
from ectocalc.labs.catalogue import Analyte
from ectocalc.model.case import DAYS_PER_YEAR
from ectocalc.service import assess_case

KB = load_knowledge()
DAY = 1 / DAYS_PER_YEAR


@pytest.mark.parametrize(("analyte", "age", "sex", "published", "canonical"), [
    ("phosphate", 3 * DAY, "female", (1.80, 3.40), (5.6, 10.5)),
    ("phosphate", 15 * DAY, "female", (1.54, 2.72), (4.8, 8.4)),
    ("phosphate", 0.5, "male", (1.54, 2.72), (4.8, 8.4)),
    ("phosphate", 9.0, "male", (1.33, 1.92), (4.1, 5.9)),
    ("phosphate", 14.0, "female", (1.02, 1.79), (3.2, 5.5)),
    ("phosphate", 14.0, "male", (1.14, 1.99), (3.5, 6.2)),
    ("phosphate", 18.5, "female", (0.95, 1.62), (2.9, 5.0)),
    ("creatinine", 14 * DAY, "male", (29, 82), (0.33, 0.93)),
    ("creatinine", 15 * DAY, "male", (9, 32), (0.10, 0.36)),
    ("creatinine", 16.0, "male", (55, 96), (0.62, 1.09)),
    ("creatinine", 16.0, "female", (43, 74), (0.49, 0.84)),
    ("alkaline_phosphatase", 0.5, "male", (134, 518), (134, 518)),
    ("alkaline_phosphatase", 14.0, "male", (127, 517), (127, 517)),
    ("alkaline_phosphatase", 18.0, "female", (48, 95), (48, 95)),
    ("calcium", 0.5, "female", (2.13, 2.74), (8.5, 11.0)),
    ("calcium", 12.0, "female", (2.29, 2.63), (9.2, 10.5)),
])
def test_caliper_partition_for_age_and_sex(analyte: str, age: float, sex: str,
                                           published: tuple[float, float],
                                           canonical: tuple[float, float]) -> None:
    entry = KB.analytes.analytes[analyte]
    partition = entry.age_partition(sex, age)
    assert partition is not None
    assert partition.published == published
    assert partition.range == canonical
    assert entry.reference_for(sex, age) == canonical


def test_from_19_years_the_adult_interval_holds() -> None:
    phosphate = KB.analytes.analytes["phosphate"]
    assert phosphate.age_partition("male", 19.0) is None
    assert phosphate.reference_for("male", 19.0) == (2.5, 4.5)


def test_a_transcription_error_refuses_the_catalogue() -> None:
    raw: dict[str, Any] = KB.analytes.analytes["phosphate"].model_dump()
    partitions = raw["reference_by_age"]["partitions"]
    partitions[1] = {**partitions[1], "range": (4.7, 7.6)}   # the value carried before 2026-11
    with pytest.raises(ValueError, match=r"is not the published \[1.54, 2.72\] mmol/L"):
        Analyte.model_validate(raw)


def _labs(document: dict[str, Any]) -> dict[str, Any]:
    assessment = assess_case(case_from_mapping(document, source="t.yaml"), scans=())
    return {lab.analyte: lab for lab in assessment.labs} | {"_alerts": {
        a.id for a in assessment.alerts}}


def test_an_infant_of_six_months_with_phosphate_8_is_normal_for_age() -> None:
    labs = _labs({"date": "2026-06-01", "patient": {"birth_date": "2025-12-01", "sex": "male"},
                  "labs": [{"analyte": "phosphate", "value": 8.0, "unit": "mg/dL"}]})
    assert labs["phosphate"].flag == "normal"
    assert labs["phosphate"].reference_range == (4.8, 8.4)
    assert labs["phosphate"].reference_source.endswith("age 15 days to <1 y")
    assert "hyperphosphatemia" not in labs["_alerts"]


def test_the_day_before_the_18th_birthday_is_still_a_child() -> None:
    """The age is kept to the day (not rounded to 18.0)."""
    labs = _labs({"date": "2026-06-01", "patient": {"birth_date": "2008-06-02", "sex": "female"},
                  "labs": [{"analyte": "phosphate", "value": 4.8, "unit": "mg/dL"}]})
    assert "pediatric" in labs["_alerts"]
    assert labs["phosphate"].flag == "normal"
    adult = _labs({"date": "2026-06-01", "patient": {"birth_date": "2008-06-01", "sex": "female"},
                   "labs": [{"analyte": "phosphate", "value": 4.8, "unit": "mg/dL"}]})
    assert "pediatric" not in adult["_alerts"]
