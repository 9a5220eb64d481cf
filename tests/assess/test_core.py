"""The pure core: ``assess(case, *, knowledge, as_of, scans)``: as-of restriction, identity and
provenance, and no imaging stack unless a scan runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date as Date

import pytest

from ectocalc import __version__
from ectocalc.assess import assess, input_digest
from ectocalc.knowledge import load_knowledge
from ectocalc.model import Case, Condition, LabResult, Patient

KB = load_knowledge()


def _phosphate(value: float, day: Date | None) -> LabResult:
    return LabResult(analyte="phosphate", value=value, unit="mg/dL", canonical_value=value,
                     canonical_unit="mg/dL", date=day)


CASE = Case(
    id="c1", date=Date(2026, 3, 1),
    patient=Patient(id="MRN-0042", sex="female", birth_date=Date(1960, 3, 1),
                    date=Date(2026, 3, 1)),
    labs=[_phosphate(3.9, Date(2025, 12, 1)), _phosphate(6.8, None),
          _phosphate(8.1, Date(2026, 6, 1))],
    conditions=[Condition(text="CKD stage 4")],
)


def test_an_undated_result_is_current_without_as_of_and_dated_by_the_case_with_it() -> None:
    a = assess(CASE, knowledge=KB)
    (report,) = [r for r in a.labs if r.analyte == "phosphate"]
    assert (report.value, a.as_of) == (6.8, None)
    later = assess(CASE, knowledge=KB, as_of=Date(2026, 7, 1))
    (report,) = [r for r in later.labs if r.analyte == "phosphate"]
    assert (report.value, report.date) == (8.1, Date(2026, 6, 1))


def test_as_of_leaves_out_later_results_and_undated_ones_take_the_case_date() -> None:
    before_case_date = assess(CASE, knowledge=KB, as_of=Date(2026, 1, 15))
    (report,) = [r for r in before_case_date.labs if r.analyte == "phosphate"]
    assert (report.value, report.flag) == (3.9, "normal")
    assert before_case_date.as_of == Date(2026, 1, 15)
    # On the case date the undated result (taken as of the case date) is the latest known.
    on_case_date = assess(CASE, knowledge=KB, as_of=Date(2026, 3, 1))
    (report,) = [r for r in on_case_date.labs if r.analyte == "phosphate"]
    assert (report.value, report.flag) == (6.8, "high")


def test_as_of_recomputes_an_age_from_the_birth_date() -> None:
    assert assess(CASE, knowledge=KB).patient["age_years"] == 66.0
    assert assess(CASE, knowledge=KB, as_of=Date(2025, 3, 1)).patient["age_years"] == 65.0


def test_identity_and_provenance_reach_the_assessment() -> None:
    a = assess(CASE, knowledge=KB, as_of=Date(2026, 3, 1))
    assert a.patient["id"] == "MRN-0042"
    assert a.knowledge_version == KB.version
    assert a.ectocalc_version == __version__
    assert a.input_digest == input_digest(CASE)
    doc = json.loads(a.model_dump_json())
    assert doc["as_of"] == "2026-03-01"
    assert doc["input_digest"].startswith("sha256:") and len(doc["input_digest"]) == 71


def test_the_digest_follows_the_content_not_the_path() -> None:
    moved = CASE.model_copy(update={"source": "elsewhere.yaml"})
    changed = CASE.model_copy(update={"labs": CASE.labs[:2]})
    assert input_digest(moved) == input_digest(CASE) != input_digest(changed)
    # as_of changes what is assessed, not the input's identity.
    assert assess(CASE, knowledge=KB, as_of=Date(2026, 1, 1)).input_digest == input_digest(CASE)


def test_assess_is_deterministic() -> None:
    assert assess(CASE, knowledge=KB) == assess(CASE, knowledge=KB)


def test_import_and_assessment_without_scans_load_no_imaging_stack() -> None:
    script = (
        "import sys\n"
        "import ectocalc\n"
        "from ectocalc import service\n"
        "from ectocalc.model import Case, Patient\n"
        "service.render_assessment(service.assess_case(Case(patient=Patient(age_years=60))),"
        " format='json')\n"
        "heavy = ('numpy', 'scipy', 'pydicom', 'nibabel', 'skimage', 'SimpleITK', 'matplotlib',"
        " 'sqlalchemy', 'fastapi', 'dask', 'ectocalc.imaging', 'ectocalc.record')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


def test_concept_recognition_scans_a_text_once_whatever_its_mentions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear in the text: the context cues are searched once per text, not once per mention
    (a 4 MB history with thousands of mentions used to take 20-40 s)."""
    import re

    from ectocalc.reasoning import concepts

    scans: list[int] = []

    class Counting:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def finditer(self, text: str) -> Iterator[re.Match[str]]:
            scans.append(len(text))
            return self.pattern.finditer(text)

    monkeypatch.setattr(concepts, "_NEGATION", Counting(concepts._NEGATION))
    for repeats in (1, 2000):
        scans.clear()
        text = "no history of CKD stage 4, on HD since 2019; " * repeats
        found = concepts.find_in_text(text, "x", knowledge=KB)
        assert {m.id for m in found} == {"chronic_kidney_disease", "dialysis"}
        assert scans == [len(text)]


def test_a_composition_phreeqc_cannot_solve_is_said_not_raised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When PHREEQC finds no solution (an extreme composition), the assessment says so in an
    information alert instead of failing with an internal error."""
    import ectocalc.assess
    from ectocalc.chemistry import ChemistryError

    def no_solution(*args: object, **kwargs: object) -> None:
        raise ChemistryError("PHREEQC failed: ERROR:   Mg has not converged. Total: 2.9e-04\n"
                             "ERROR: Model failed to converge for initial solution 1.")

    monkeypatch.setattr(ectocalc.assess, "serum_chemistry", no_solution)
    a = assess(CASE, knowledge=KB)
    assert a.chemistry is None
    (alert,) = [x for x in a.alerts if x.id == "chemistry_not_computed"]
    assert (alert.severity, alert.message) == ("info", "no saturation indices: PHREEQC found no "
                                               "solution for this composition (Mg has not "
                                               "converged)")
