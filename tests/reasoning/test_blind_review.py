"""Regression tests of the blind clinician review (H10, docs/clinical-review.md).

Each test fails without its fix: the patient summary's wording for heterotopic ossification and
for cautioned tests, and the GFR category of a child's Schwartz eGFR used by the CKD-MBD rules.
"""

from pathlib import Path

from ectocalc.render.patient import patient_text
from ectocalc.service import assess_file

VIGNETTES = Path(__file__).resolve().parents[2] / "examples" / "vignettes"


def test_patient_summary_calls_heterotopic_ossification_bone() -> None:
    text = patient_text(assess_file(VIGNETTES / "68-immature-ho-spinal-cord-injury.yaml"))
    assert "new bone forming in soft tissue" in text
    assert "calcium settling in tissue that was injured" not in text


def test_patient_summary_keeps_the_caution_of_a_test(tmp_path: Path) -> None:
    # An X-ray at 30 weeks carries the pregnancy caution in the clinician plan. (The vignette's
    # deposit is already on ultrasound, so no X-ray is proposed there: here it was only felt.)
    case = tmp_path / "64-examined.yaml"
    case.write_text((VIGNETTES / "64-pregnant-30-weeks-taking-ibuprofen.yaml").read_text()
                    .replace("modality: ultrasound", "modality: exam"))
    text = patient_text(assess_file(case))
    xray_line = next(line for line in text.splitlines() if "X-ray" in line)
    assert "first check whether it is safe for you" in xray_line


def test_no_ct_for_a_child_whose_findings_ultrasound_already_shows() -> None:
    a = assess_file(VIGNETTES / "73-preterm-furosemide-nephrocalcinosis.yaml")
    assert "ct" not in {w.id for w in a.workup}
    # Already imaged (ultrasound): no CT is proposed at all, so none needs withholding.
    withheld = [w for item in a.workup for w in item.withheld]
    assert not any(w.startswith("Computed tomography") for w in withheld)


def test_child_gfr_category_is_evidence_but_no_stage_is_reported() -> None:
    a = assess_file(VIGNETTES / "63-child-ckd-mbd-schwartz.yaml")
    assert a.derived.ckd_stage is None
    ckd_mbd = next(s for s in a.syndromes if s.id == "ckd_mbd")
    assert any("GFR category G4 of the child's eGFR 26.66" in c for c in ckd_mbd.criteria)


def test_acutely_ill_child_gets_no_gfr_category(tmp_path: Path) -> None:
    # Tumour lysis in a child: one high creatinine (bedside Schwartz 44) is not CKD.
    case = tmp_path / "child-tls.yaml"
    case.write_text(
        "patient: {age_years: 8, sex: male, height_cm: 128}\n"
        "labs:\n"
        "  - {analyte: uric_acid, value: 11, unit: mg/dL}\n"
        "  - {analyte: potassium, value: 6.4, unit: mmol/L}\n"
        "  - {analyte: phosphate, value: 9.8, unit: mg/dL}\n"
        "  - {analyte: calcium, value: 6.6, unit: mg/dL}\n"
        "  - {analyte: creatinine, value: 1.2, unit: mg/dL}\n"
        "conditions: [{text: 'Burkitt lymphoma, started chemotherapy 2 days ago'}]\n"
        "findings: [{site: both kidneys, type: visceral, modality: ultrasound}]\n")
    a = assess_file(case)
    assert a.derived.egfr_ml_min_1_73m2 is not None and a.derived.egfr_ml_min_1_73m2 < 60
    assert "tumor_lysis_syndrome" in {s.id for s in a.syndromes}
    assert "ckd_mbd" not in {s.id for s in a.syndromes}
    assert "lateral_abdominal_xray" not in {w.id for w in a.workup}
