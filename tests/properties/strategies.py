"""Hypothesis strategies for valid contract case documents (CONTRACT.md section 2) and the
contract vocabulary (section 3).

The strategies build plain dicts, exactly what a user writes in a case file: random subsets of
labs with plausible values in conventional or SI units (sometimes identified by LOINC, sometimes
dated, sometimes with a laboratory range), conditions in ordinary clinical wording (including
negated ones, ICD-10-CM and SNOMED CT codes), medications, genetic findings and calcification
findings with random sites, sizes, pain and signs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from ectocalc import vocabulary

# --- contract vocabulary (CONTRACT.md section 3), stated once in ectocalc.vocabulary ---------
MECHANISMS = frozenset(vocabulary.MECHANISMS)
TYPES = frozenset(vocabulary.TYPES)
SYNDROMES = frozenset(vocabulary.SYNDROMES)
WORKUP = frozenset(vocabulary.WORKUP)
MANAGEMENT = frozenset(vocabulary.MANAGEMENT)

# --- labs -----------------------------------------------------------------------------------
# analyte -> [(unit, low, high, decimals, loinc for this unit or None)]; ranges span normal to
# clearly pathological values, inside the catalogue's plausible limits.
LAB_UNITS: dict[str, list[tuple[str, float, float, int, str | None]]] = {
    "calcium": [("mg/dL", 5.5, 15.0, 1, "17861-6"), ("mmol/L", 1.40, 3.70, 2, "2000-8")],
    "ionized_calcium": [("mmol/L", 0.80, 1.90, 2, "1995-0"), ("mg/dL", 3.3, 7.5, 1, None)],
    "phosphate": [("mg/dL", 1.0, 12.0, 1, "2777-1"), ("mmol/L", 0.35, 3.80, 2, "14879-1")],
    "magnesium": [("mg/dL", 0.9, 5.0, 1, "19123-9"), ("mmol/L", 0.40, 2.00, 2, "2601-3"),
                  ("meq/L", 0.8, 4.0, 1, None)],
    "albumin": [("g/dL", 1.5, 5.5, 1, "1751-7"), ("g/L", 15.0, 55.0, 0, "1751-7")],
    "creatinine": [("mg/dL", 0.3, 15.0, 2, "2160-0"), ("umol/L", 30.0, 1300.0, 0, "14682-9")],
    "cystatin_c": [("mg/L", 0.5, 8.0, 2, "33863-2")],
    "pth": [("pg/mL", 3.0, 2500.0, 0, "2731-8"), ("pmol/L", 0.3, 260.0, 1, "14866-8")],
    "alkaline_phosphatase": [("U/L", 20.0, 1500.0, 0, "6768-6"), ("ukat/L", 0.4, 25.0, 2, None)],
    "vitamin_d_25oh": [("ng/mL", 4.0, 250.0, 0, "62292-8"), ("nmol/L", 10.0, 620.0, 0, None)],
    "urine_albumin_creatinine_ratio": [("mg/g", 1.0, 5000.0, 0, "9318-7"),
                                       ("mg/mmol", 0.2, 560.0, 1, "14959-1")],
    "bicarbonate": [("mmol/L", 10.0, 45.0, 0, None)],
    "ph": [("[pH]", 7.05, 7.70, 2, None)],
    "urine_phosphate": [("mg/dL", 2.0, 300.0, 0, None)],
    "urine_creatinine": [("mg/dL", 10.0, 400.0, 0, None)],
    "plasma_ppi": [("umol/L", 0.1, 10.0, 2, None)],
    "fgf23": [("pg/mL", 5.0, 3000.0, 0, None)],
}
# typical laboratory ranges a report may carry, in the unit they are given in
LAB_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("calcium", "mg/dL"): (8.6, 10.2), ("calcium", "mmol/L"): (2.15, 2.55),
    ("phosphate", "mg/dL"): (2.5, 4.5), ("phosphate", "mmol/L"): (0.81, 1.45),
    ("magnesium", "mg/dL"): (1.7, 2.4), ("albumin", "g/dL"): (3.5, 5.0),
    ("pth", "pg/mL"): (10.0, 65.0),
}
MINERAL_ANALYTES = ("calcium", "phosphate", "magnesium", "creatinine", "albumin")

# --- history --------------------------------------------------------------------------------
CONDITIONS: list[dict[str, str]] = [
    {"text": "ESRD on HD", "code": "N18.6", "system": "icd10cm"},
    {"text": "end-stage renal disease on hemodialysis"},
    {"text": "on peritoneal dialysis (CAPD)"},
    {"text": "CKD stage 3b", "code": "N18.32", "system": "icd10cm"},
    {"text": "CKD 4"},
    {"text": "chronic kidney disease", "code": "709044004", "system": "snomed"},
    {"code": "N18.5", "system": "icd10cm"},
    {"code": "46177005", "system": "snomed"},
    {"text": "kidney transplant recipient"},
    {"text": "AKI, resolved"},
    {"text": "type 2 diabetes mellitus", "code": "E11.9", "system": "icd10cm"},
    {"text": "T2DM", "code": "44054006", "system": "snomed"},
    {"text": "HTN", "code": "I10", "system": "icd10cm"},
    {"text": "hyperlipidemia", "code": "E78.5", "system": "icd10cm"},
    {"text": "atherosclerosis of aorta", "code": "I70.0", "system": "icd10cm"},
    {"text": "obesity, BMI 41"},
    {"text": "dermatomyositis", "code": "396230008", "system": "snomed"},
    {"text": "JDM"},
    {"text": "systemic sclerosis", "code": "89155008", "system": "snomed"},
    {"text": "CREST syndrome"},
    {"text": "SLE", "code": "M32.9", "system": "icd10cm"},
    {"text": "Raynaud phenomenon", "code": "266261006", "system": "snomed"},
    {"text": "s/p radiotherapy to the pelvis"},
    {"text": "prior radiotherapy for breast cancer"},
    {"text": "burn scar of left forearm"},
    {"text": "s/p total knee replacement"},
    {"text": "blunt trauma to the thigh"},
    {"text": "chronic pancreatitis", "code": "K86.1", "system": "icd10cm"},
    {"text": "sarcoidosis", "code": "D86.9", "system": "icd10cm"},
    {"text": "multiple myeloma", "code": "C90.00", "system": "icd10cm"},
    {"text": "tumor lysis syndrome"},
    {"text": "rhabdomyolysis"},
    {"text": "primary hyperparathyroidism", "code": "E21.0", "system": "icd10cm"},
    {"text": "hypoparathyroidism", "code": "E20.9", "system": "icd10cm"},
    {"text": "pseudoxanthoma elasticum"},
    {"text": "family history of PXE in her sister"},
    {"text": "Keutel syndrome"},
    {"text": "osteoarthritis of right knee", "code": "M17.11", "system": "icd10cm"},
    {"text": "calcific tendinitis of shoulder", "code": "M75.31", "system": "icd10cm"},
    {"text": "extravasation of IV calcium gluconate"},
    {"text": "protein C deficiency"},
    {"text": "treated pulmonary tuberculosis"},
    {"text": "atrial fibrillation"},
    # negated: must not count
    {"text": "no history of CKD"},
    {"text": "denies kidney disease; not on dialysis"},
    {"text": "no diabetes"},
    {"text": "no history of trauma"},
    {"text": "never had radiotherapy"},
    {"text": "negative for systemic sclerosis"},
]
NEGATED_KIDNEY = [
    {"text": "no history of CKD"},
    {"text": "not on dialysis"},
    {"text": "denies kidney disease"},
    {"text": "no history of chronic kidney disease"},
    {"text": "no ESRD"},
]
MEDICATIONS: list[dict[str, str]] = [
    {"text": "warfarin 5 mg daily"},
    {"text": "Coumadin"},
    {"text": "calcium carbonate 1500 mg daily"},
    {"text": "calcium acetate 667 mg TID with meals"},
    {"text": "sevelamer carbonate 800 mg TID"},
    {"text": "lanthanum carbonate 750 mg TID"},
    {"text": "calcitriol 0.25 mcg daily"},
    {"text": "cholecalciferol 50,000 IU weekly"},
    {"text": "vitamin D3 2000 IU daily"},
    {"text": "cinacalcet 30 mg daily"},
    {"text": "prednisone 10 mg daily"},
    {"text": "alendronate 70 mg weekly"},
    {"text": "etidronate 400 mg daily, 2 weeks every 3 months"},
    {"text": "sodium thiosulfate 25 g IV three times weekly"},
    {"text": "atorvastatin 40 mg"},
    {"text": "metformin 1 g BID"},
    {"text": "insulin glargine"},
    {"text": "iron sucrose IV"},
    {"text": "methotrexate 15 mg weekly"},
    {"text": "Tums antacid tablets"},
]
GENES = ["ABCC6", "ENPP1", "NT5E", "GALNT3", "FGF23", "KL", "MGP", "SLC20A2", "PDGFRB",
         "PDGFB", "XPR1", "MYORG", "JAM2", "TTN", "BRCA2"]
ZYGOSITY = ["monoallelic", "heterozygous", "biallelic", "homozygous", "compound_heterozygous",
            "hemizygous"]
CLASSIFICATION = ["pathogenic", "likely_pathogenic", "vus", "likely_benign", "benign"]

# --- findings -------------------------------------------------------------------------------
SITES = [
    "right shoulder, supraspinatus tendon", "left hip, periarticular", "both knees",
    "MCP joints", "femoral arteries", "superficial femoral artery", "aortic valve",
    "mitral annulus", "coronary arteries", "abdominal aorta", "breast arteries",
    "skin of both thighs", "fingertips", "extensor elbows, subcutaneous", "scrotum",
    "lateral neck skin", "both kidneys", "lungs, upper lobes", "basal ganglia", "pancreas",
    "liver", "thigh muscle", "calf soft tissue", "auricular cartilage", "retina, both eyes",
    "gluteal region", "unspecified site",
]
SIGNS = ["nodule", "plaque", "papules", "yellow_papules", "livedo", "retiform_purpura",
         "necrosis", "eschar", "angioid_streaks", "peau_d_orange", "stiffness", "swelling",
         "chalky_discharge", "nephrocalcinosis", "tram_track", "mass"]
PAIN = ["none", "mild", "moderate", "severe"]
MODALITY = ["xray", "ct", "ultrasound", "echocardiogram", "mri", "exam"]


def _iso(day: date) -> str:
    return day.isoformat()


dates = st.integers(min_value=0, max_value=1000).map(
    lambda d: _iso(date(2024, 1, 1) + timedelta(days=d)))


_BY_LOINC = {loinc: name for name, units in LAB_UNITS.items() for *_, loinc in units if loinc}


def _analyte_of(entry: dict[str, Any]) -> str:
    return entry.get("analyte") or _BY_LOINC[entry["loinc"]]


@st.composite
def lab(draw: st.DrawFn, analyte: str | None = None) -> dict[str, Any]:
    """One lab result in a random accepted unit, by name or by LOINC."""
    name = analyte or draw(st.sampled_from(sorted(LAB_UNITS)))
    unit, low, high, decimals, loinc = draw(st.sampled_from(LAB_UNITS[name]))
    value = round(draw(st.floats(min_value=low, max_value=high, allow_nan=False)), decimals)
    entry: dict[str, Any] = {}
    if loinc is not None and draw(st.booleans()):
        entry["loinc"] = loinc
    else:
        entry["analyte"] = name
    entry.update(value=value, unit=unit)
    if draw(st.booleans()):
        entry["date"] = draw(dates)
    if (name, unit) in LAB_RANGES and draw(st.integers(0, 3)) == 0:
        entry["reference_range"] = list(LAB_RANGES[(name, unit)])
    return entry


@st.composite
def labs(draw: st.DrawFn, exclude: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """A random subset of analytes (mineral panel favoured), occasionally a repeated analyte."""
    names = [n for n in sorted(LAB_UNITS) if n not in exclude]
    panel = [n for n in MINERAL_ANALYTES if n not in exclude]
    chosen = draw(st.lists(st.sampled_from(panel), unique=True)) if panel else []
    chosen += draw(st.lists(st.sampled_from(names), unique=True, max_size=6))
    return [draw(lab(name)) for name in chosen]


def _finding_dict(draw: st.DrawFn, *, small_painless: bool = False) -> dict[str, Any]:
    finding: dict[str, Any] = {"site": draw(st.sampled_from(SITES))}
    if draw(st.booleans()):
        finding["type"] = draw(st.sampled_from(sorted(TYPES)))
    if small_painless:
        finding["size_mm"] = round(draw(st.floats(min_value=0.5, max_value=4.9)), 1)
        finding["pain"] = "none"
        finding["functional_limitation"] = False
        finding["ulcerated"] = False
        finding["conservative_treatment_failed"] = False
        finding["signs"] = draw(st.lists(st.sampled_from(["nodule", "mass"]), unique=True,
                                         max_size=1))
    else:
        optional = {
            "size_mm": st.floats(min_value=0.5, max_value=200.0).map(lambda x: round(x, 1)),
            "pain": st.sampled_from(PAIN),
            "functional_limitation": st.booleans(),
            "ulcerated": st.booleans(),
            "signs": st.lists(st.sampled_from(SIGNS), unique=True, max_size=4),
            "conservative_treatment_failed": st.booleans(),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                finding[key] = draw(strategy)
    if draw(st.booleans()):
        finding["modality"] = draw(st.sampled_from(MODALITY))
    return finding


@st.composite
def finding(draw: st.DrawFn) -> dict[str, Any]:
    return _finding_dict(draw)


@st.composite
def small_painless_finding(draw: st.DrawFn) -> dict[str, Any]:
    """A deposit under 5 mm, painless, no limitation, no ulceration: never a surgical case."""
    return _finding_dict(draw, small_painless=True)


@st.composite
def patient(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kind = draw(st.integers(0, 9))
    if kind == 0:
        out["age_years"] = round(draw(st.floats(min_value=0.05, max_value=17.9)), 2)  # child
    elif kind != 1:  # kind 1: age unknown
        out["age_years"] = draw(st.integers(min_value=18, max_value=95))
    if draw(st.integers(0, 9)) != 0:  # occasionally sex unknown
        out["sex"] = draw(st.sampled_from(["female", "male"]))
    return out


@st.composite
def genetic(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"gene": draw(st.sampled_from(GENES))}
    if draw(st.booleans()):
        out["zygosity"] = draw(st.sampled_from(ZYGOSITY))
    if draw(st.booleans()):
        out["classification"] = draw(st.sampled_from(CLASSIFICATION))
    return out


@st.composite
def case(draw: st.DrawFn, *, lab_exclude: frozenset[str] = frozenset(),
         conditions_pool: list[dict[str, str]] | None = None,
         medications_pool: list[dict[str, str]] | None = None,
         findings: st.SearchStrategy[dict[str, Any]] | None = None,
         min_findings: int = 0) -> dict[str, Any]:
    """A valid contract case document (a dict ready to be written as JSON or YAML)."""
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        document["id"] = f"prop-{draw(st.integers(0, 10**6))}"
    document["patient"] = draw(patient())
    document["labs"] = draw(labs(exclude=lab_exclude))
    # eGFR needs age and sex: a creatinine or cystatin C without them is refused as invalid input
    # (ectocalc.labs.derive), so a valid case then states both.
    if any(_analyte_of(entry) in {"creatinine", "cystatin_c"} for entry in document["labs"]):
        document["patient"].setdefault("age_years", draw(st.integers(min_value=18, max_value=95)))
        document["patient"].setdefault("sex", draw(st.sampled_from(["female", "male"])))
    document["conditions"] = [dict(c) for c in draw(st.lists(
        st.sampled_from(conditions_pool if conditions_pool is not None else CONDITIONS),
        unique_by=lambda c: repr(sorted(c.items())), max_size=5))]
    document["medications"] = [dict(m) for m in draw(st.lists(
        st.sampled_from(medications_pool if medications_pool is not None else MEDICATIONS),
        unique_by=lambda m: m["text"], max_size=4))]
    document["genetics"] = draw(st.lists(genetic(), max_size=2))
    document["findings"] = draw(st.lists(findings if findings is not None else finding(),
                                         min_size=min_findings, max_size=4))
    # sometimes leave optional sections out altogether, as a user would
    for key in ("conditions", "medications", "genetics"):
        if not document[key] and draw(st.booleans()):
            del document[key]
    return document


def cases() -> st.SearchStrategy[dict[str, Any]]:
    """Any valid case."""
    return case()


def cases_with_findings() -> st.SearchStrategy[dict[str, Any]]:
    return case(min_findings=1)


def small_painless_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Cases whose every finding is a small painless deposit."""
    return case(findings=small_painless_finding(), min_findings=1)


_KIDNEY_WORDS = ("ckd", "renal", "kidney", "dialysis", "esrd", " hd", "capd", "aki", "transplant")
_KIDNEY_CODES = ("N18", "N17", "Z99", "Z49", "709044004", "46177005")
NEUTRAL_CONDITIONS = [
    c for c in CONDITIONS
    if not any(w in f" {c.get('text', '').lower()}" for w in _KIDNEY_WORDS)
    and not c.get("code", "").startswith(_KIDNEY_CODES)
]


def kidney_neutral_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Cases that mention no kidney disease, dialysis or transplant at all (for negation tests)."""
    return case(conditions_pool=NEUTRAL_CONDITIONS, min_findings=1)
