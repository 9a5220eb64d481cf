"""The seed texts are covered completely.

The list below was written by reading the two seeds (``shared/seeds/*.txt``): every cause and
risk factor, calcification type (with its sites), symptom, diagnostic step and treatment they
name, each mapped to the knowledge-base entry that holds it. The test checks that the entry
exists and cites that seed (as its source, in ``named_by``, or in one of its rules).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from ectocalc.knowledge import load_knowledge
from ectocalc.knowledge.schema import MODALITIES
from shared_dir import SEEDS

OVERVIEW, DYSTROPHIC = "seed_ectopic", "seed_dystrophic"

# (seed, what the seed says, knowledge section, entry id, sub-entry id or None)
COVERAGE: list[tuple[str, str, str, str, str | None]] = [
    # ---- seed 000: causes
    (OVERVIEW, "chronic kidney disease", "causes", "chronic_kidney_disease", None),
    (OVERVIEW, "hyperphosphatemia", "causes", "hyperphosphataemia", None),
    (OVERVIEW, "systemic metabolic imbalances", "causes", "systemic_mineral_imbalance", None),
    (OVERVIEW, "tissue injury", "causes", "tissue_injury", None),
    (OVERVIEW, "chronic inflammation", "causes", "chronic_inflammation", None),
    (OVERVIEW, "infection", "causes", "infection", None),
    (OVERVIEW, "aging", "causes", "ageing", None),
    (OVERVIEW, "inherited", "causes", "inherited_predisposition", None),
    (OVERVIEW, "pseudoxanthoma elasticum (PXE)", "causes", "pxe_abcc6", None),
    (OVERVIEW, "diabetes", "causes", "diabetes", None),
    (OVERVIEW, "hypercholesterolemia", "causes", "hypercholesterolaemia", None),
    # ---- seed 000: types and their sites
    (OVERVIEW, "Vascular calcification", "types", "vascular", None),
    (OVERVIEW, "heart valves", "examples", "vascular", "heart valves"),
    (OVERVIEW, "Periarticular calcification", "types", "periarticular", None),
    (OVERVIEW, "tendons", "examples", "periarticular", "tendons"),
    (OVERVIEW, "ligaments", "examples", "periarticular", "ligaments"),
    (OVERVIEW, "shoulder", "examples", "periarticular", "shoulder"),
    (OVERVIEW, "hip", "examples", "periarticular", "hip"),
    (OVERVIEW, "knee", "examples", "periarticular", "knee"),
    (OVERVIEW, "Cutaneous calcification", "types", "cutaneous", None),
    # ---- seed 000: symptoms
    (OVERVIEW, "arteries become stiff", "symptoms", "vascular", "arterial_stiffness"),
    (OVERVIEW, "high blood pressure", "symptoms", "vascular", "high_blood_pressure"),
    (OVERVIEW, "increased workload for the heart", "symptoms", "vascular", "cardiac_workload"),
    (OVERVIEW, "obstructing blood flow", "symptoms", "vascular", "valve_obstruction"),
    (OVERVIEW, "leak backward", "symptoms", "vascular", "valve_regurgitation"),
    (OVERVIEW, "heart attack and stroke", "symptoms", "vascular", "cardiovascular_events"),
    (OVERVIEW, "pain", "symptoms", "periarticular", "pain"),
    (OVERVIEW, "stiffness", "symptoms", "periarticular", "stiffness"),
    (OVERVIEW, "inflammation", "symptoms", "periarticular", "inflammation"),
    (OVERVIEW, "mimicking arthritis or tendonitis", "symptoms", "periarticular",
     "mimics_arthritis"),
    (OVERVIEW, "restrict a joint's range of motion", "symptoms", "periarticular",
     "restricted_motion"),
    (OVERVIEW, "hard, often painless, nodules or plaques", "symptoms", "cutaneous",
     "hard_nodules_plaques"),
    (OVERVIEW, "large and tender", "symptoms", "cutaneous", "large_tender"),
    (OVERVIEW, "break through the skin, creating open sores", "symptoms", "cutaneous",
     "ulceration"),
    (OVERVIEW, "susceptible to infection", "symptoms", "cutaneous", "infection_risk"),
    (OVERVIEW, "interfere with tissue function", "symptoms", "soft_tissue", "tissue_dysfunction"),
    # ---- seed 000: diagnosis
    (OVERVIEW, "X-rays", "workup", "xray", None),
    (OVERVIEW, "computed tomography (CT)", "workup", "ct", None),
    (OVERVIEW, "Ultrasound", "workup", "ultrasound", None),
    (OVERVIEW, "ultrasound ... heart valves", "workup", "echocardiogram", None),
    (OVERVIEW, "calcium", "workup", "serum_calcium", None),
    (OVERVIEW, "phosphate", "workup", "serum_phosphate", None),
    (OVERVIEW, "magnesium", "workup", "serum_magnesium", None),
    (OVERVIEW, "Kidney function tests", "workup", "kidney_function", None),
    (OVERVIEW, "biopsy", "workup", "biopsy", None),
    # ---- seed 000: treatment
    (OVERVIEW, "address the root cause", "management", "treat_underlying_cause", None),
    (OVERVIEW, "dietary phosphorus restrictions", "management", "dietary_phosphate_restriction",
     None),
    (OVERVIEW, "phosphate binders", "management", "phosphate_binder", None),
    (OVERVIEW, "Controlling underlying diseases like diabetes", "management", "glycemic_control",
     None),
    (OVERVIEW, "hypercholesterolemia ... cholesterol", "management", "lipid_control", None),
    (OVERVIEW, "medications for blood pressure", "management", "bp_control", None),
    (OVERVIEW, "Sodium thiosulfate", "management", "sodium_thiosulfate", None),
    (OVERVIEW, "bisphosphonates ... genetic disorders", "management", "bisphosphonate", None),
    (OVERVIEW, "Surgical intervention", "management", "surgical_excision", None),
    (OVERVIEW, "skin ulceration ... open sores", "management", "wound_care", None),
    # ---- seed 003: causes and risk factors
    (DYSTROPHIC, "trauma, injury", "causes", "tissue_injury", None),
    (DYSTROPHIC, "chronic inflammation", "causes", "chronic_inflammation", None),
    (DYSTROPHIC, "burns", "causes", "burns", None),
    (DYSTROPHIC, "surgical procedures", "causes", "surgical_procedures", None),
    (DYSTROPHIC, "contusions, or repeated trauma", "causes", "contusions_repeated_trauma", None),
    (DYSTROPHIC, "areas of cell death", "causes", "cell_death", None),
    (DYSTROPHIC, "Atherosclerosis", "causes", "atherosclerosis", None),
    (DYSTROPHIC, "Osteoarthritis", "causes", "osteoarthritis", None),
    (DYSTROPHIC, "Chronic Kidney Disease", "causes", "chronic_kidney_disease", None),
    (DYSTROPHIC, "pseudoxanthoma elasticum", "causes", "pxe_abcc6", None),
    (DYSTROPHIC, "advanced age", "causes", "ageing", None),
    (DYSTROPHIC, "diabetes", "causes", "diabetes", None),
    (DYSTROPHIC, "autoimmune diseases", "causes", "autoimmune_disease", None),
    (DYSTROPHIC, "chronic infections", "causes", "infection", None),
    (DYSTROPHIC, "prolonged immobilization", "causes", "immobilisation", None),
    (DYSTROPHIC, "radiation therapy", "causes", "radiation_therapy", None),
    (DYSTROPHIC, "rheumatoid arthritis", "causes", "rheumatoid_arthritis", None),
    # ---- seed 003: where it deposits (types) and symptoms
    (DYSTROPHIC, "blood vessels", "examples", "vascular", "blood vessels"),
    (DYSTROPHIC, "soft tissues", "examples", "soft_tissue", "soft tissues"),
    (DYSTROPHIC, "organs", "examples", "visceral", "organs"),
    (DYSTROPHIC, "joints", "examples", "periarticular", "joints"),
    (DYSTROPHIC, "mineralized nodules, impairing tissue function", "symptoms", "soft_tissue",
     "impaired_function"),
    # ---- seed 003: diagnosis
    (DYSTROPHIC, "X-rays", "workup", "xray", None),
    (DYSTROPHIC, "computed tomography (CT)", "workup", "ct", None),
    (DYSTROPHIC, "Ultrasonography", "workup", "ultrasound", None),
    # ---- seed 003: treatment
    (DYSTROPHIC, "managing the underlying cause", "management", "treat_underlying_cause", None),
    (DYSTROPHIC, "Nonsteroidal anti-inflammatory drugs (NSAIDs)", "management", "nsaid", None),
    (DYSTROPHIC, "Physical Therapy", "management", "physical_therapy", None),
    (DYSTROPHIC, "Lifestyle Modifications", "management", "lifestyle_modification", None),
    (DYSTROPHIC, "Nodule Excision", "management", "surgical_excision", None),
    (DYSTROPHIC, "Joint Replacement", "management", "joint_replacement", None),
    (DYSTROPHIC, "Medications to Reduce Calcium Deposition", "management", "bisphosphonate",
     None),
    (DYSTROPHIC, "Systemic Inflammation Control", "management", "inflammation_control", None),
    (DYSTROPHIC, "Calcium and Phosphate Balance", "management",
     "dietary_phosphate_restriction", None),
]


def _cites(entry: Any, seed: str) -> bool:
    """Whether a knowledge entry cites ``seed`` itself, in named_by, or in one of its rules."""
    sources = [getattr(entry, "source", ""), *getattr(entry, "named_by", [])]
    sources += [rule.source for rule in getattr(entry, "rules", [])]
    return any(source.partition(":")[0] == seed for source in sources)


def _entry(section: str, entry_id: str, sub: str | None) -> Any:
    kb = load_knowledge()
    tables = {"causes": kb.causes.causes, "types": kb.types.types, "symptoms": kb.types.types,
              "examples": kb.types.types, "workup": kb.workup.workup,
              "management": kb.management.management}
    entry = next((e for e in tables[section] if e.id == entry_id), None)
    assert entry is not None, f"no {section} entry '{entry_id}'"
    if section == "symptoms":
        entry = next((s for s in entry.symptoms if s.id == sub), None)
        assert entry is not None, f"type has no symptom '{sub}'"
    if section == "examples":
        assert sub in entry.examples, f"type {entry_id} does not name '{sub}'"
    return entry


@pytest.mark.parametrize(("seed", "phrase", "section", "entry_id", "sub"), COVERAGE,
                         ids=[f"{c[0]}:{c[1]}" for c in COVERAGE])
def test_seed_item_is_in_the_knowledge_base(seed: str, phrase: str, section: str, entry_id: str,
                                            sub: str | None) -> None:
    entry = _entry(section, entry_id, sub)
    holder = _entry("types", entry_id, None) if section == "examples" else entry
    assert _cites(holder, seed), f"'{phrase}': {section}/{entry_id} does not cite {seed}"


# CI always has shared/ beside the clone: there a missing seed folder fails instead of skipping.
@pytest.mark.skipif(not SEEDS.is_dir() and not os.environ.get("CI"),
                    reason="shared/seeds not beside the project")
def test_phrases_are_from_the_seeds() -> None:
    """Each phrase (each part around '...') occurs in its seed: the list was read, not recalled."""
    texts = {OVERVIEW: (SEEDS / "000_72faeabf1f4a4e72.txt").read_text(encoding="utf-8"),
             DYSTROPHIC: (SEEDS / "003_04c7b2fec31578ce.txt").read_text(encoding="utf-8")}
    normalise = str.maketrans({"’": "'"})
    missing = [(seed, phrase) for seed, phrase, *_ in COVERAGE
               if not all(part.strip() in texts[seed].translate(normalise).lower()
                          for part in phrase.lower().split("..."))]
    assert not missing


def test_history_and_examination_are_read() -> None:
    """Seed 003: 'a detailed medical history and physical examination' - the case carries both
    (conditions, medications; findings seen on examination), and history wording is recognised."""
    assert "exam" in MODALITIES
    lexicon = load_knowledge().lexicon.concepts
    assert sum(1 for c in lexicon if c.kind in ("condition", "medication", "procedure")) >= 50
