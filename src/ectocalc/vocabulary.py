"""The stable identifiers of the public contract, stated once.

Every identifier ectocalc emits or reads (calcification types, sexes, mechanisms, syndromes,
work-up and management items, alerts, CKD stages) is a :data:`typing.Literal` here; the tuples
are derived from them with :func:`typing.get_args`, so the type checker, the pydantic models,
the knowledge loader's completeness check and the tests all read one list. CONTRACT.md §3 is
the reference; nothing else may be emitted.

CKD stage wording ("CKD 4", "stage 3b", "5D", "G3aT") is parsed here too, by
:func:`parse_ckd_stage`, and stages are ordered by :func:`ckd_stage_rank`.

Examples
--------
>>> TYPES
('vascular', 'periarticular', 'cutaneous', 'visceral', 'soft_tissue')
>>> [parse_ckd_stage(s) for s in ("4", "3B", "3", "5D", "G2", "g3bt", "stage 9")]
['G4', 'G3b', 'G3a', 'G5D', 'G2', 'G3bT', None]
>>> ckd_stage_rank("G3bT") == ckd_stage_rank("G3b") < ckd_stage_rank("G5D")
True
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Sex = Literal["female", "male"]
CalcificationType = Literal["vascular", "periarticular", "cutaneous", "visceral", "soft_tissue"]
MechanismId = Literal["metastatic", "dystrophic", "inherited", "iatrogenic", "calciphylaxis",
                      "idiopathic",
                      # issue 20 (clinical-a): contract 1.1
                      "physiological"]
SyndromeId = Literal[
    "pxe", "gaci", "acdc", "hftc", "keutel", "pfbc", "calciphylaxis", "calcific_tendinitis",
    "milk_alkali", "hyperparathyroidism", "vitamin_d_toxicity", "ckd_mbd",
    "connective_tissue_disease_calcinosis", "hypoparathyroidism", "tumor_lysis_syndrome",
    "rhabdomyolysis", "granulomatous_hypercalcemia", "heterotopic_ossification",
    # version 1.1 (issue 20, clinical-b): causes that were missing
    "renal_tubular_acidosis", "hypomagnesemia", "pseudohypoparathyroidism", "hungry_bone",
    "denosumab_rebound_hypercalcemia", "cyp24a1_hypercalcemia", "malignancy_hypercalcemia",
    "familial_hypocalciuric_hypercalcemia",
    # issue 20 (clinical-a): contract 1.1
    "physiological_calcification",
]
WorkupId = Literal[
    "serum_calcium", "ionized_calcium", "serum_phosphate", "serum_magnesium", "serum_albumin",
    "kidney_function", "pth", "vitamin_d_25oh", "alkaline_phosphatase", "tmp_gfr", "plasma_ppi",
    "fgf23", "xray", "ct", "ultrasound", "echocardiogram", "lateral_abdominal_xray", "biopsy",
    "genetic_testing", "ophthalmologic_exam", "autoimmune_serology",
    # version 1.1 (issue 20, clinical-b)
    "urine_calcium_creatinine_ratio", "urine_calcium_24h", "calcium_creatinine_clearance_ratio",
    "pthrp", "calcitriol_125oh2d", "urine_ph",
    # issue 20 (clinical-a): contract 1.1
    "ecg",
]
ManagementId = Literal[
    "treat_underlying_cause", "dietary_phosphate_restriction", "phosphate_binder",
    "limit_calcium_based_binders", "dialysis_intensification", "stop_offending_agent",
    "sodium_thiosulfate", "bisphosphonate", "calcimimetic", "parathyroidectomy", "bp_control",
    "lipid_control", "glycemic_control", "inflammation_control", "nsaid", "physical_therapy",
    "lifestyle_modification", "surgical_excision", "joint_replacement", "wound_care",
    # issue 20 (clinical-a): contract 1.1
    "adjust_dose", "stop_phosphate_binder", "iv_fluids", "calcitonin", "denosumab",
    "potassium_lowering", "magnesium_replacement", "alkali_therapy", "reassurance",
]
AlertId = Literal[
    "hypercalcemia", "hypocalcemia", "hyperphosphatemia", "calcium_phosphate_product_high",
    "calciphylaxis_suspected", "acute_kidney_injury", "pregnancy", "pediatric",
    "pth_low_on_dialysis",
    # version 1.1 (issue 20, clinical-b)
    "hypomagnesemia", "metabolic_acidosis",
    # issue 20 (clinical-a): contract 1.1
    "hyperkalemia", "implausible_value", "critical_value",
]
"""The alerts the contract names (at least these; the knowledge base may add more)."""
CkdStage = Literal["G1", "G2", "G3a", "G3b", "G4", "G5", "G5D",
                   "G1T", "G2T", "G3aT", "G3bT", "G4T", "G5T"]
"""KDIGO GFR categories; ``D`` dialysis, ``T`` a kidney transplant recipient."""
Certainty = Literal["possible", "probable", "definitive"]
"""Syndrome certainty, weakest first (Plomp 2010 wording, used for every syndrome)."""
Confidence = Literal["low", "moderate", "high"]
Pain = Literal["none", "mild", "moderate", "severe"]
Modality = Literal["xray", "ct", "ultrasound", "echocardiogram", "mri", "exam"]
LabFlag = Literal["normal", "low", "high", "critical_low", "critical_high"]
Urgency = Literal["today", "soon", "routine"]
"""How fast a management item is needed (contract 1.1): today, soon (days), routine."""

SEXES: tuple[Sex, ...] = get_args(Sex)
TYPES: tuple[CalcificationType, ...] = get_args(CalcificationType)
MECHANISMS: tuple[MechanismId, ...] = get_args(MechanismId)
SYNDROMES: tuple[SyndromeId, ...] = get_args(SyndromeId)
WORKUP: tuple[WorkupId, ...] = get_args(WorkupId)
MANAGEMENT: tuple[ManagementId, ...] = get_args(ManagementId)
ALERTS: tuple[AlertId, ...] = get_args(AlertId)
CKD_STAGES: tuple[CkdStage, ...] = get_args(CkdStage)
CERTAINTIES: tuple[Certainty, ...] = get_args(Certainty)
CONFIDENCES: tuple[Confidence, ...] = get_args(Confidence)
PAIN_LEVELS: tuple[Pain, ...] = get_args(Pain)
MODALITIES: tuple[Modality, ...] = get_args(Modality)
LAB_FLAGS: tuple[LabFlag, ...] = get_args(LabFlag)
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)

_BY_NAME: dict[str, CkdStage] = {stage: stage for stage in CKD_STAGES}
_SEVERITY = ("G1", "G2", "G3a", "G3b", "G4", "G5", "G5D")
_STAGE = re.compile(r"^\s*(?:ckd\s*)?(?:stage\s*)?g?\s*([1-5])\s*([ab])?\s*([dt])?\s*$",
                    re.IGNORECASE)


def parse_ckd_stage(text: str) -> CkdStage | None:
    """The KDIGO stage named by ``text`` ("4", "3B", "G3a", "5D", "G2T"), or None.

    A bare stage 3 is taken as G3a, the milder half; ``D`` (dialysis) applies to stage 5 only
    and stands for G5D whatever number precedes it (ICD-10-CM N18.6 reads "5D").
    """
    match = _STAGE.match(text)
    if match is None:
        return None
    number, half, suffix = match.group(1), (match.group(2) or "").lower(), (match.group(3) or "")
    if suffix.upper() == "D":
        return "G5D"
    base = f"G{number}{half or 'a'}" if number == "3" else f"G{number}"
    if half and number != "3":
        return None
    return _BY_NAME.get(base + ("T" if suffix.upper() == "T" else ""))


def ckd_stage_rank(stage: str) -> int:
    """Severity order of a stage (G1 = 0 … G5D = 6); a transplant stage ranks as its G stage.

    Raises
    ------
    ValueError
        ``stage`` is not a KDIGO stage of :data:`CKD_STAGES`.
    """
    if stage not in CKD_STAGES:
        raise ValueError(f"{stage!r} is not a CKD stage ({', '.join(CKD_STAGES)})")
    return _SEVERITY.index(stage.removesuffix("T"))


def is_transplant_stage(stage: str | None) -> bool:
    """True for a kidney transplant recipient's stage (``G1T`` … ``G5T``)."""
    return stage is not None and stage in CKD_STAGES and stage.endswith("T")


__all__ = [
    "ALERTS", "CERTAINTIES", "CKD_STAGES", "CONFIDENCES", "LAB_FLAGS", "MANAGEMENT",
    "MECHANISMS", "MODALITIES", "PAIN_LEVELS", "SEXES", "SYNDROMES", "TYPES", "URGENCIES",
    "WORKUP",
    "AlertId", "CalcificationType", "Certainty", "CkdStage", "Confidence", "LabFlag",
    "ManagementId", "MechanismId", "Modality", "Pain", "Sex", "SyndromeId", "Urgency",
    "WorkupId",
    "ckd_stage_rank", "is_transplant_stage", "parse_ckd_stage",
]
