"""Property-based tests of the engine on random cases built from the knowledge base's own words."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ectocalc.knowledge import load_knowledge
from ectocalc.knowledge.schema import (
    CKD_STAGES,
    MANAGEMENT,
    MECHANISMS,
    PAIN_LEVELS,
    SYNDROMES,
    TYPES,
    WORKUP,
)
from ectocalc.labs.results import make_lab_result, report_labs
from ectocalc.model import Case, Condition, Derived, Finding, GeneticFinding, Medication, Patient
from ectocalc.reasoning import reason

KB = load_knowledge()
TERMS = sorted({t for c in KB.lexicon.concepts for t in c.terms if not t.startswith("re:")})
SIGNS = sorted({c.terms[0] for c in KB.lexicon.concepts if c.kind == "sign"})
SITES = sorted({c.terms[0] for c in KB.lexicon.concepts if c.kind == "site"})
GENES = ["ABCC6", "ENPP1", "NT5E", "FGF23", "GALNT3", "KL", "MGP", "SLC20A2", "MYORG", "TTN"]
ANALYTES = ["calcium", "ionized_calcium", "phosphate", "magnesium", "albumin", "creatinine", "pth",
            "alkaline_phosphatase", "vitamin_d_25oh", "bicarbonate", "plasma_ppi", "fgf23"]


@st.composite
def cases(draw: st.DrawFn) -> tuple[Case, Derived]:
    catalogue = KB.analytes.analytes
    labs = []
    for analyte in draw(st.lists(st.sampled_from(ANALYTES), unique=True, max_size=8)):
        low, high = catalogue[analyte].plausible
        value = draw(st.floats(min_value=low, max_value=high, allow_nan=False))
        labs.append(make_lab_result(source="p", field="labs", analyte_name=analyte, value=value,
                                    unit=catalogue[analyte].canonical_unit))
    words = st.lists(st.sampled_from(TERMS), min_size=1, max_size=3).map(" ".join)
    prefix = st.sampled_from(["", "no ", "suspected ", "family history of ", "s/p "])
    conditions = draw(st.lists(st.builds(lambda p, w: Condition(text=p + w), prefix, words),
                               max_size=5))
    medications = draw(st.lists(st.builds(lambda w: Medication(text=w), words), max_size=3))
    genetics = draw(st.lists(st.builds(
        GeneticFinding, gene=st.sampled_from(GENES),
        zygosity=st.sampled_from(["heterozygous", "biallelic", None]),
        classification=st.sampled_from(["pathogenic", "likely_pathogenic", "vus"])), max_size=2))
    findings = draw(st.lists(st.builds(
        Finding, site=st.lists(st.sampled_from(SITES), min_size=1, max_size=2).map(", ".join),
        type=st.sampled_from([None, *TYPES]), size_mm=st.none() | st.floats(0.5, 200),
        pain=st.sampled_from([None, *PAIN_LEVELS]), ulcerated=st.sampled_from([None, True]),
        functional_limitation=st.sampled_from([None, True, False]),
        conservative_treatment_failed=st.sampled_from([None, True]),
        signs=st.lists(st.sampled_from(SIGNS), max_size=3)), max_size=3))
    case = Case(patient=Patient(age_years=draw(st.none() | st.floats(0, 100)),
                                sex=draw(st.sampled_from(["female", "male", None]))),
                labs=labs, conditions=conditions, medications=medications, genetics=genetics,
                findings=findings)
    stage = draw(st.sampled_from([None, *CKD_STAGES]))
    derived = Derived(ckd_stage=stage, on_dialysis=stage == "G5D",
                      egfr_ml_min_1_73m2=draw(st.none() | st.floats(3, 130)),
                      calcium_phosphate_product_mg2_dl2=draw(st.none() | st.floats(10, 120)),
                      corrected_calcium_mg_dl=draw(st.none() | st.floats(6, 15)),
                      tmp_gfr_mg_dl=draw(st.none() | st.floats(1, 12)))
    return case, derived


def _flag(result: Any, analyte: str) -> str | None:
    return next((r.flag for r in result if r.analyte == analyte), None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_any_case_reasons_within_the_vocabulary(drawn: tuple[Case, Derived]) -> None:
    case, derived = drawn
    labs = report_labs(case, knowledge=KB)
    result = reason(case, labs=labs, derived=derived, knowledge=KB)
    assert result.mechanism.primary in MECHANISMS
    assert result.mechanism.confidence in ("low", "moderate", "high")
    for score in result.mechanism.differential:
        assert score.id in MECHANISMS and 0 <= score.score <= 1
        assert score.evidence and score.sources
    assert {t.id for t in result.types} <= set(TYPES)
    assert len(result.types) == len(case.findings)
    assert {s.id for s in result.syndromes} <= set(SYNDROMES)
    assert {s.certainty for s in result.syndromes} <= {"possible", "probable", "definitive"}
    assert {w.id for w in result.workup} <= set(WORKUP)
    assert {m.id for m in result.management} <= set(MANAGEMENT)
    for item in [*result.workup, *result.management]:
        assert item.reason and item.source and item.evidence
    management = {m.id for m in result.management}
    # The guards hold on every case.
    if "phosphate_binder" in management:
        assert _flag(labs, "phosphate") in ("high", "critical_high")
    if "nsaid" in management:
        egfr = derived.egfr_ml_min_1_73m2
        assert (egfr is None or egfr >= 30) and derived.ckd_stage not in ("G4", "G5", "G5D")
    assert reason(case, labs=labs, derived=derived, knowledge=KB) == result
