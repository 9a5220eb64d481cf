"""Acceptance tests of the clinical reasoning engine: the clinical vignettes.

Each file in ``examples/vignettes/`` is a plain contract case file whose leading YAML comment tells
the clinical story and why the expectations follow; ``tests/vignettes/expected.yaml`` holds the
expectations (its header documents the keys). Each vignette runs through the command line in
process (``ectocalc assess FILE --format json``) and every expectation is checked with a message
that names the vignette and shows what the engine produced.

The meta-tests at the end check the expectations themselves: every vignette has an entry, every
identifier belongs to the contract vocabulary (``shared/spec/CONTRACT.md`` section 3), and together
they cover every mechanism, type, syndrome, work-up and management identifier.
"""

from __future__ import annotations

import contextlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VIGNETTES = REPO / "examples" / "vignettes"
EXPECTED_FILE = Path(__file__).with_name("expected.yaml")

# --- contract vocabulary (CONTRACT.md section 3, "Vocabulary (stable identifiers)") -------------
MECHANISMS = {"metastatic", "dystrophic", "inherited", "iatrogenic", "calciphylaxis", "idiopathic",
              "physiological"}
TYPES = {"vascular", "periarticular", "cutaneous", "visceral", "soft_tissue"}
SYNDROMES = {"pxe", "gaci", "acdc", "hftc", "keutel", "pfbc", "calciphylaxis",
             "calcific_tendinitis", "milk_alkali", "hyperparathyroidism", "vitamin_d_toxicity",
             "ckd_mbd", "connective_tissue_disease_calcinosis", "hypoparathyroidism",
             "tumor_lysis_syndrome", "rhabdomyolysis", "granulomatous_hypercalcemia",
             "heterotopic_ossification",
             # issue 20 (clinical-a): contract 1.1
             "physiological_calcification",
             # version 1.1 (issue 20, clinical-b)
             "renal_tubular_acidosis", "hypomagnesemia", "pseudohypoparathyroidism",
             "hungry_bone", "denosumab_rebound_hypercalcemia", "cyp24a1_hypercalcemia",
             "malignancy_hypercalcemia", "familial_hypocalciuric_hypercalcemia"}
WORKUP = {"serum_calcium", "ionized_calcium", "serum_phosphate", "serum_magnesium",
          "serum_albumin", "kidney_function", "pth", "vitamin_d_25oh", "alkaline_phosphatase",
          "tmp_gfr", "plasma_ppi", "fgf23", "xray", "ct", "ultrasound", "echocardiogram",
          "lateral_abdominal_xray", "biopsy", "genetic_testing", "ophthalmologic_exam",
          "autoimmune_serology",
          "ecg",  # issue 20 (clinical-a)
          # version 1.1 (issue 20, clinical-b)
          "urine_calcium_creatinine_ratio", "urine_calcium_24h",
          "calcium_creatinine_clearance_ratio", "pthrp", "calcitriol_125oh2d", "urine_ph"}
MANAGEMENT = {"treat_underlying_cause", "dietary_phosphate_restriction", "phosphate_binder",
              "limit_calcium_based_binders", "dialysis_intensification", "stop_offending_agent",
              "sodium_thiosulfate", "bisphosphonate", "calcimimetic", "parathyroidectomy",
              "bp_control", "lipid_control", "glycemic_control", "inflammation_control", "nsaid",
              "physical_therapy", "lifestyle_modification", "surgical_excision",
              "joint_replacement", "wound_care",
              # issue 20 (clinical-a): contract 1.1
              "adjust_dose", "stop_phosphate_binder", "iv_fluids", "calcitonin", "denosumab",
              "potassium_lowering", "reassurance", "alkali_therapy", "magnesium_replacement"}
PXE_CERTAINTIES = {"definitive", "probable", "possible"}
BOSWORTH = {"small", "medium", "large"}

# A mechanism "in the differential" must score at least this much.
MIN_DIFFERENTIAL_SCORE = 0.2
# Default tolerances for derived values (hand arithmetic is to 2 decimals; the engine may round).
DERIVED_TOLERANCE = {
    "corrected_calcium_mg_dl": 0.011,
    "corrected_calcium_mmol_l": 0.003,
    "calcium_phosphate_product_mg2_dl2": 0.15,
    "egfr_ml_min_1_73m2": 0.15,
    "tubular_phosphate_reabsorption": 0.002,
    "tmp_gfr_mg_dl": 0.02,
}
DEFAULT_TOLERANCE = 0.01
ALLOWED_KEYS = {"primary_mechanism", "mechanisms_include", "types", "types_exclude", "syndromes",
                "syndromes_exclude", "workup", "management", "management_cautions",
                "management_withheld", "management_reason_excludes", "alerts", "derived",
                "monitoring", "confidence_not", "management_urgency"}
CASE_KEYS = {"id", "date", "patient", "labs", "conditions", "medications", "genetics", "findings",
             "scans", "version", "risk_factors"}


def _load_expected() -> dict[str, dict[str, Any]]:
    with EXPECTED_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


EXPECTED = _load_expected()
NAMES = sorted(EXPECTED)


@cache
def _assess(name: str) -> tuple[int, str, str, Any]:
    """Run ``ectocalc assess VIGNETTE --format json`` in process (cached: one run per vignette)."""
    from typer.testing import CliRunner

    from ectocalc.cli import app

    result = CliRunner().invoke(app, ["assess", str(VIGNETTES / name), "--format", "json"])
    stderr = ""
    with contextlib.suppress(ValueError, AttributeError):  # stderr may not be separate
        stderr = result.stderr or ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += f"\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, stderr, result.exception


def _output(name: str) -> dict[str, Any]:
    """The parsed JSON assessment of one vignette (fails the test with the CLI's own message)."""
    code, stdout, stderr, _ = _assess(name)
    assert code == 0, (
        f"{name}: exit status {code}\nstderr: {stderr.strip()}\nstdout: {stdout[:500]}")
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"{name}: --format json did not print one JSON document ({error}):\n"
                    f"{stdout[:500]}")
    assert isinstance(document, dict), f"{name}: JSON output is not an object"
    return document


def _ids(items: list[dict[str, Any]] | None, key: str = "id") -> list[str]:
    return [item.get(key) for item in (items or [])]


def _show(items: list[dict[str, Any]] | None, *fields: str) -> str:
    """Compact listing of output items for failure messages."""
    rows = []
    for item in items or []:
        rows.append(" ".join(f"{f}={item.get(f)!r}" for f in fields if f in item))
    return "; ".join(rows) or "(none)"


# --- per-vignette acceptance tests ---------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_runs_and_has_disclaimer(name: str) -> None:
    output = _output(name)
    disclaimer = output.get("disclaimer")
    assert isinstance(disclaimer, str) and disclaimer.strip(), f"{name}: no disclaimer in output"
    assert output.get("knowledge_version"), f"{name}: no knowledge_version in output"


@pytest.mark.parametrize("name", NAMES)
def test_mechanism(name: str) -> None:
    output = _output(name)
    expected = EXPECTED[name]
    mechanism = output.get("mechanism") or {}
    differential = mechanism.get("differential") or []
    listing = _show(differential, "id", "score")
    wanted = expected["primary_mechanism"]
    acceptable = [wanted] if isinstance(wanted, str) else list(wanted)
    assert mechanism.get("primary") in acceptable, (
        f"{name}: primary mechanism {mechanism.get('primary')!r}, expected one of {acceptable}; "
        f"differential: {listing}")
    scores = {item.get("id"): item.get("score", 0) for item in differential}
    for mechanism_id in expected.get("mechanisms_include", []):
        assert scores.get(mechanism_id, 0) >= MIN_DIFFERENTIAL_SCORE, (
            f"{name}: mechanism {mechanism_id!r} should be in the differential with score >= "
            f"{MIN_DIFFERENTIAL_SCORE}; differential: {listing}")
    for confidence in expected.get("confidence_not", []):
        assert mechanism.get("confidence") != confidence, (
            f"{name}: labs are missing, so confidence must not be {confidence!r}")


@pytest.mark.parametrize("name", NAMES)
def test_differential_carries_evidence(name: str) -> None:
    output = _output(name)
    differential = (output.get("mechanism") or {}).get("differential") or []
    assert differential, f"{name}: empty mechanism differential"
    for item in differential:
        assert item.get("id") in MECHANISMS, f"{name}: unknown mechanism id {item.get('id')!r}"
        if item.get("score", 0) > 0:
            assert item.get("evidence"), (
                f"{name}: mechanism {item.get('id')!r} (score {item.get('score')}) has no evidence")
            assert item.get("sources"), (
                f"{name}: mechanism {item.get('id')!r} (score {item.get('score')}) has no sources")


@pytest.mark.parametrize("name", NAMES)
def test_types(name: str) -> None:
    output = _output(name)
    expected = EXPECTED[name]
    found = set(_ids(output.get("types")))
    listing = _show(output.get("types"), "id", "site")
    for type_id in expected.get("types", []):
        assert type_id in found, f"{name}: type {type_id!r} missing; types: {listing}"
    for type_id in expected.get("types_exclude", []):
        assert type_id not in found, f"{name}: type {type_id!r} must not appear; types: {listing}"


@pytest.mark.parametrize("name", NAMES)
def test_syndromes(name: str) -> None:
    output = _output(name)
    expected = EXPECTED[name]
    syndromes = output.get("syndromes") or []
    listing = _show(syndromes, "id", "certainty", "criteria")
    by_id: dict[str, list[dict[str, Any]]] = {}
    for item in syndromes:
        by_id.setdefault(item.get("id"), []).append(item)
    for syndrome_id, want in (expected.get("syndromes") or {}).items():
        want = want or {}
        assert syndrome_id in by_id, (
            f"{name}: syndrome {syndrome_id!r} missing; syndromes: {listing}")
        items = by_id[syndrome_id]
        if "certainty" in want:
            assert any(i.get("certainty") == want["certainty"] for i in items), (
                f"{name}: syndrome {syndrome_id!r} should have certainty {want['certainty']!r}; "
                f"syndromes: {listing}")
        if "criteria_contains" in want:
            text = want["criteria_contains"].lower()
            assert any(text in str(c).lower() for i in items for c in i.get("criteria") or []), (
                f"{name}: a criterion of {syndrome_id!r} should mention {text!r}; "
                f"syndromes: {listing}")
    for syndrome_id in expected.get("syndromes_exclude", []):
        assert syndrome_id not in by_id, (
            f"{name}: syndrome {syndrome_id!r} must not appear; syndromes: {listing}")


@pytest.mark.parametrize("name", NAMES)
def test_workup(name: str) -> None:
    output = _output(name)
    expected = EXPECTED[name].get("workup") or {}
    found = set(_ids(output.get("workup")))
    listing = ", ".join(sorted(i for i in found if i)) or "(none)"
    for item in expected.get("include", []):
        assert item in found, f"{name}: work-up {item!r} missing; work-up: {listing}"
    for item in expected.get("exclude", []):
        assert item not in found, f"{name}: work-up {item!r} must not appear; work-up: {listing}"


@pytest.mark.parametrize("name", NAMES)
def test_management(name: str) -> None:
    output = _output(name)
    expected = EXPECTED[name]
    management = output.get("management") or []
    found = set(_ids(management))
    listing = ", ".join(sorted(i for i in found if i)) or "(none)"
    for item in (expected.get("management") or {}).get("include", []):
        assert item in found, f"{name}: management {item!r} missing; management: {listing}"
    for item in (expected.get("management") or {}).get("exclude", []):
        assert item not in found, (
            f"{name}: management {item!r} must not appear; management: {listing}")
    for key, field, what in (("management_cautions", "cautions", "a caution"),
                             ("management_withheld", "withheld", "a withheld item")):
        for item_id, words in (expected.get(key) or {}).items():
            items = [i for i in management if i.get("id") == item_id]
            assert items, f"{name}: management {item_id!r} ({what}) missing; management: {listing}"
            texts = [str(c) for i in items for c in i.get(field) or []]
            assert any(w.lower() in c.lower() for c in texts for w in words), (
                f"{name}: management {item_id!r} needs {what} mentioning one of {words}; "
                f"{field}: {texts or '(none)'}")


@pytest.mark.parametrize("name", NAMES)
def test_management_reasons(name: str) -> None:
    """``management_reason_excludes: {id: [words]}``: the item is present and its reason says
    none of the words (e.g. no "or calcitriol" for a patient already on calcitriol)."""
    management = _output(name).get("management") or []
    for item_id, words in (EXPECTED[name].get("management_reason_excludes") or {}).items():
        reasons = [str(i.get("reason") or "") for i in management if i.get("id") == item_id]
        assert reasons, f"{name}: management {item_id!r} missing"
        for word in words:
            assert not any(word.lower() in r.lower() for r in reasons), (
                f"{name}: management {item_id!r} must not say {word!r}: {reasons}")


@pytest.mark.parametrize("name", NAMES)
def test_management_urgency(name: str) -> None:
    """``management_urgency: {id: today}``: the item is present with that urgency (contract 1.1)."""
    management = _output(name).get("management") or []
    for item_id, urgency in (EXPECTED[name].get("management_urgency") or {}).items():
        found = [i.get("urgency") for i in management if i.get("id") == item_id]
        assert found, f"{name}: management {item_id!r} missing"
        assert urgency in found, f"{name}: {item_id!r} urgency {found}, expected {urgency!r}"


@pytest.mark.parametrize("name", NAMES)
def test_alerts(name: str) -> None:
    output = _output(name)
    expected = EXPECTED[name].get("alerts") or {}
    found = [a for a in _ids(output.get("alerts")) if a]
    listing = ", ".join(found) or "(none)"
    for alert_id in expected.get("include", []):
        assert alert_id in found, f"{name}: alert {alert_id!r} missing; alerts: {listing}"
    for alert_id in expected.get("exclude", []):
        assert alert_id not in found, (
            f"{name}: alert {alert_id!r} must not appear; alerts: {listing}")
    for text in expected.get("id_contains", []):
        assert any(text in a.lower() for a in found), (
            f"{name}: an alert whose id contains {text!r} is missing; alerts: {listing}")
    for text in expected.get("id_not_contains", []):
        assert not any(text in a.lower() for a in found), (
            f"{name}: no alert id may contain {text!r}; alerts: {listing}")


@pytest.mark.parametrize("name", NAMES)
def test_derived(name: str) -> None:
    output = _output(name)
    derived = output.get("derived") or {}
    for field, want in (EXPECTED[name].get("derived") or {}).items():
        got: Any = derived
        for part in field.split("."):  # "urine_calcium_creatinine_ratio.mg_mg"
            got = got.get(part) if isinstance(got, dict) else None
        if want is None:
            assert got is None, f"{name}: derived.{field} should be null, got {got!r}"
            continue
        if isinstance(want, dict):
            value, tolerance = want["value"], want.get("tol", DEFAULT_TOLERANCE)
        else:
            value, tolerance = want, DERIVED_TOLERANCE.get(field, DEFAULT_TOLERANCE)
        if isinstance(value, (bool, str)):
            assert got == value, f"{name}: derived.{field} = {got!r}, expected {value!r}"
        else:
            assert isinstance(got, (int, float)) and not isinstance(got, bool), (
                f"{name}: derived.{field} = {got!r}, expected a number near {value}")
            assert abs(got - value) <= tolerance, (
                f"{name}: derived.{field} = {got}, expected {value} ± {tolerance}")


@pytest.mark.parametrize("name", NAMES)
def test_monitoring(name: str) -> None:
    output = _output(name)
    monitoring = output.get("monitoring") or []
    listing = _show(monitoring, "test", "interval_months")
    for test_id, interval in (EXPECTED[name].get("monitoring") or {}).items():
        items = [m for m in monitoring if m.get("test") == test_id]
        assert items, f"{name}: monitoring of {test_id!r} missing; monitoring: {listing}"
        assert any(list(m.get("interval_months") or []) == list(interval) for m in items), (
            f"{name}: {test_id!r} should be monitored every {interval} months; "
            f"monitoring: {listing}")


@pytest.mark.parametrize("name", NAMES)
def test_items_carry_source_and_vocabulary(name: str) -> None:
    output = _output(name)
    sections = {"types": ("id", TYPES), "syndromes": ("id", SYNDROMES),
                "workup": ("id", WORKUP), "management": ("id", MANAGEMENT),
                "monitoring": ("test", WORKUP)}
    for section, (key, vocabulary) in sections.items():
        for index, item in enumerate(output.get(section) or []):
            where = f"{name}: {section}[{index}] ({item.get(key)!r})"
            assert item.get(key) in vocabulary, f"{where}: not a contract identifier"
            source = item.get("source")
            assert isinstance(source, str) and source.strip(), f"{where}: empty source"
    for section in ("workup", "management"):
        for index, item in enumerate(output.get(section) or []):
            assert str(item.get("reason") or "").strip(), (
                f"{name}: {section}[{index}] ({item.get('id')!r}) has no reason")
    primary = (output.get("mechanism") or {}).get("primary")
    assert primary in MECHANISMS, f"{name}: primary mechanism {primary!r} not in the vocabulary"


# --- meta-tests: the vignettes and the expectations themselves -----------------------------------

def test_every_vignette_has_expectations() -> None:
    files = {p.name for p in VIGNETTES.glob("*.yaml")}
    assert len(files) >= 25, f"only {len(files)} vignettes"
    assert files == set(EXPECTED), (
        f"without expectations: {sorted(files - set(EXPECTED))}; "
        f"expectations without a file: {sorted(set(EXPECTED) - files)}")


@pytest.mark.parametrize("name", NAMES)
def test_vignette_is_a_documented_contract_case(name: str) -> None:
    path = VIGNETTES / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{name}: must start with a comment telling the clinical story"
    comment = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comment) >= 5, f"{name}: the leading comment should explain the expectations"
    document = yaml.safe_load(text)
    assert isinstance(document, dict) and set(document) <= CASE_KEYS, (
        f"{name}: keys outside the contract case format: {sorted(set(document) - CASE_KEYS)}")
    assert document.get("findings"), f"{name}: a vignette needs at least one finding"


@pytest.mark.parametrize("name", NAMES)
def test_vignette_loads(name: str) -> None:
    from ectocalc.io.case_file import load_case

    case = load_case(VIGNETTES / name)
    assert case.findings


@pytest.mark.parametrize("name", NAMES)
def test_expectations_use_the_vocabulary(name: str) -> None:
    expected = EXPECTED[name]
    unknown = sorted(set(expected) - ALLOWED_KEYS)
    assert not unknown, f"{name}: unknown keys {unknown}"
    primary = expected["primary_mechanism"]
    for mechanism_id in ([primary] if isinstance(primary, str) else primary):
        assert mechanism_id in MECHANISMS, f"{name}: {mechanism_id!r}"
    assert set(expected.get("mechanisms_include", [])) <= MECHANISMS
    assert set(expected.get("types", [])) | set(expected.get("types_exclude", [])) <= TYPES
    syndromes = set(expected.get("syndromes") or {}) | set(expected.get("syndromes_exclude", []))
    assert syndromes <= SYNDROMES, f"{name}: {sorted(syndromes - SYNDROMES)}"
    for section, vocabulary in (("workup", WORKUP), ("management", MANAGEMENT)):
        block = expected.get(section) or {}
        ids = set(block.get("include", [])) | set(block.get("exclude", []))
        assert ids <= vocabulary, f"{name}: {section} {sorted(ids - vocabulary)}"
        overlap = set(block.get("include", [])) & set(block.get("exclude", []))
        assert not overlap, f"{name}: {section} both included and excluded: {sorted(overlap)}"
    assert set(expected.get("management_cautions") or {}) <= MANAGEMENT
    assert set(expected.get("management_withheld") or {}) <= MANAGEMENT
    assert set(expected.get("monitoring") or {}) <= WORKUP


def test_expectations_cover_the_vocabulary() -> None:
    primaries, types, syndromes, workup, management = set(), set(), set(), set(), set()
    pxe, bosworth = set(), set()
    for expected in EXPECTED.values():
        if isinstance(expected["primary_mechanism"], str):
            primaries.add(expected["primary_mechanism"])
        types |= set(expected.get("types", []))
        for syndrome_id, want in (expected.get("syndromes") or {}).items():
            syndromes.add(syndrome_id)
            want = want or {}
            if syndrome_id == "pxe" and "certainty" in want:
                pxe.add(want["certainty"])
            if syndrome_id == "calcific_tendinitis" and "criteria_contains" in want:
                bosworth.add(want["criteria_contains"])
        workup |= set((expected.get("workup") or {}).get("include", []))
        management |= set((expected.get("management") or {}).get("include", []))
    assert primaries == MECHANISMS, f"mechanisms never primary: {sorted(MECHANISMS - primaries)}"
    assert types == TYPES, f"types not covered: {sorted(TYPES - types)}"
    assert syndromes == SYNDROMES, f"syndromes not covered: {sorted(SYNDROMES - syndromes)}"
    assert workup == WORKUP, f"work-up not covered: {sorted(WORKUP - workup)}"
    assert management == MANAGEMENT, f"management not covered: {sorted(MANAGEMENT - management)}"
    assert pxe == PXE_CERTAINTIES, f"PXE certainties not covered: {sorted(PXE_CERTAINTIES - pxe)}"
    assert bosworth == BOSWORTH, f"Bosworth classes not covered: {sorted(BOSWORTH - bosworth)}"


def test_guards_are_exercised() -> None:
    """The issue's guards each have a vignette that checks them."""
    def has(name: str, section: str, kind: str, item: str) -> bool:
        return item in (EXPECTED[name].get(section) or {}).get(kind, [])

    # a CKD case with normal phosphate and no binder
    assert has("02-ckd4-normal-phosphate.yaml", "management", "exclude", "phosphate_binder")
    # low eGFR + PXE: bisphosphonate with a kidney caution
    assert "bisphosphonate" in EXPECTED["14-pxe-ckd4-bisphosphonate-caution.yaml"][
        "management_cautions"]
    # surgical excision only when criteria are met
    assert has("29-calcific-tendinitis-large.yaml", "management", "include", "surgical_excision")
    assert has("27-calcific-tendinitis-small.yaml", "management", "exclude", "surgical_excision")
    # Ca x P alert
    assert "calcium_phosphate_product_high" in EXPECTED["01-esrd-hd-hyperphosphatemia.yaml"][
        "alerts"]["include"]
    # missing labs lower confidence
    assert sum(1 for e in EXPECTED.values() if "high" in e.get("confidence_not", [])) >= 2


# Issue 9 ("who the patient is, and when"): each fault kind has vignettes, and each of these
# vignettes states what must NOT appear as well as what must.
ISSUE_9_KINDS = {
    "1 age-partitioned ranges, paediatric guards, Schwartz": ["32", "33", "34", "35"],
    "2 pregnancy": ["36", "37", "38", "39"],
    "3 time: undated results, AKI, date-times, chronicity, conflicts": ["40", "41", "42", "43",
                                                                        "44"],
    "4 history is not present disease; transplant staging": ["45", "46", "47"],
    "5 missing causes and syndromes": ["46", "48", "49", "50", "51", "52", "53", "54", "55"],
    "6 no treatment on a possible syndrome": ["42", "44", "56"],
    "7 evidence must belong to the finding": ["57", "58"],
    "8 contradictions": ["59"],
    "9 patient summary": ["61"],
    "10 bundled examples": ["60"],
}


def _excludes(expected: dict[str, Any]) -> bool:
    blocks = [expected.get(k) or {} for k in ("workup", "management", "alerts")]
    return bool(expected.get("syndromes_exclude") or expected.get("types_exclude")
                or any(b.get("exclude") or b.get("id_not_contains") for b in blocks)
                or expected.get("management_reason_excludes")
                or any(v is None for v in (expected.get("derived") or {}).values()))


def test_issue_9_kinds_have_vignettes_with_exclusions() -> None:
    by_number = {name[:2]: name for name in NAMES}
    for kind, numbers in ISSUE_9_KINDS.items():
        for number in numbers:
            assert number in by_number, f"kind {kind}: vignette {number} missing"
            assert _excludes(EXPECTED[by_number[number]]), (
                f"kind {kind}: {by_number[number]} states nothing that must not appear")
    new = [n for n in NAMES if int(n[:2]) >= 32]
    assert len(new) >= 30, f"only {len(new)} issue-9 vignettes"
