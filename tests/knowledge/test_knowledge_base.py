"""The knowledge base: schema, sources, contract coverage, [check] flags, loud failure."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest

from ectocalc.io.case_file import load_case
from ectocalc.knowledge import bibliography, knowledge_version, load_knowledge
from ectocalc.knowledge.load import FILES
from ectocalc.knowledge.schema import (
    MANAGEMENT,
    MECHANISMS,
    SYNDROMES,
    TYPES,
    WORKUP,
    KnowledgeError,
    Sourced,
)
from ectocalc.reasoning import reason

KB = load_knowledge()

DATA = Path(str(files("ectocalc.knowledge").joinpath("data")))
VIGNETTES = Path(__file__).resolve().parents[2] / "examples" / "vignettes"


def test_loads_with_a_version() -> None:
    kb = load_knowledge()
    assert knowledge_version() == kb.version
    assert kb.version.startswith("1+") and len(kb.version) == 12


def test_section_sizes() -> None:
    kb = load_knowledge()
    assert [m.id for m in kb.mechanisms.mechanisms] == list(MECHANISMS)
    assert {t.id for t in kb.types.types} == set(TYPES)  # file order = site priority
    assert {s.id for s in kb.syndromes.syndromes} == set(SYNDROMES)
    assert [w.id for w in kb.workup.workup] == list(WORKUP)
    assert [m.id for m in kb.management.management] == list(MANAGEMENT)
    assert len(kb.causes.causes) >= 35
    assert len(kb.lexicon.concepts) >= 120
    assert len(kb.bibliography.sources) >= 20


def test_every_entry_cites_a_known_source() -> None:
    kb = load_knowledge()
    from ectocalc.knowledge.load import _walk

    cited = 0
    for name, (attribute, _) in FILES.items():
        for path, node in _walk(getattr(kb, attribute), name):
            if isinstance(node, Sourced):
                assert node.source.partition(":")[0] in kb.bibliography.sources, path
                assert kb.cite(node.source)
                cited += 1
    assert cited > 400


def test_citations_are_readable_and_unconfirmed_ones_are_marked() -> None:
    kb = load_knowledge()
    assert kb.cite("kdigo_2017_ckd_mbd:4.1.6") == "KDIGO 2017 CKD-MBD 4.1.6"
    assert kb.cite("ectocalc_heuristic").endswith("[check]")
    assert bibliography()["tmp_gfr_reference"].endswith("[check]")


def test_reference_check_items_are_flagged() -> None:
    """Items marked [check] in references/clinical.md stay marked in the knowledge base."""
    kb = load_knowledge()
    syndromes = {s.id: s for s in kb.syndromes.syndromes}
    keutel_labs = [n for n in syndromes["keutel"].notes if "normal" in n.text]
    gartner = [n for n in syndromes["calcific_tendinitis"].notes if "Gärtner" in n.text]
    assert keutel_labs and all(n.check for n in keutel_labs)
    assert gartner and all(n.check for n in gartner)
    assert kb.mechanisms.settings.check


def test_check_flag_reaches_the_output() -> None:
    from ectocalc.model import Case, Finding, GeneticFinding

    result = reason(Case(genetics=[GeneticFinding(gene="MGP", zygosity="homozygous")],
                         findings=[Finding(site="tracheal cartilage")]), knowledge=KB)
    (keutel,) = [s for s in result.syndromes if s.id == "keutel"]
    assert any(note.endswith("[check]") for note in keutel.notes)


def test_every_contract_identifier_is_reachable() -> None:
    """Run the vignettes through the engine: together they produce every identifier."""
    produced: dict[str, set[str]] = {k: set() for k in ("mechanism", "types", "syndromes",
                                                         "workup", "management")}
    from ectocalc.service import assess_case as assess

    for path in sorted(VIGNETTES.glob("*.yaml")):
        result = assess(load_case(path))
        produced["mechanism"].add(result.mechanism.primary or "")
        for key in ("types", "syndromes", "workup", "management"):
            produced[key] |= {item.id for item in getattr(result, key)}
    assert produced["mechanism"] == set(MECHANISMS)
    assert produced["types"] == set(TYPES)
    assert produced["syndromes"] == set(SYNDROMES)
    assert produced["workup"] == set(WORKUP)
    assert produced["management"] == set(MANAGEMENT)


# --------------------------------------------------------------------- broken files fail loudly


@pytest.fixture
def broken(tmp_path: Path) -> Callable[[str, str, str], Path]:
    """A copy of the knowledge base with one text replacement in one file."""

    def make(name: str, old: str, new: str) -> Path:
        target = tmp_path / f"data{len(list(tmp_path.iterdir()))}"
        shutil.copytree(DATA, target)
        text = (target / name).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        (target / name).write_text(text.replace(old, new, 1), encoding="utf-8")
        return target

    return make


def test_the_copy_itself_loads(broken: Callable[[str, str, str], Path]) -> None:
    assert load_knowledge(broken("alerts.yaml", "version: 1", "version: 1")).version


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("mechanisms.yaml", "weight: 0.55", "weight: [0.55", "not valid YAML"),
    ("mechanisms.yaml", "weight: 0.55", "weight: 1.55", "less than or equal to 1"),
    ("workup.yaml", "label: Serum calcium", "labl: Serum calcium", "Extra inputs"),
    ("workup.yaml", "{calcium: missing}", "{calcium: absent}", "'absent' is not one of"),
    ("workup.yaml", "{calcium: missing}", "{calcum: missing}", "unknown predicate"),
    ("workup.yaml", "{lab.phosphate: missing}", "{lab.phosphorus: missing}",
     "unknown analyte 'phosphorus'"),
    ("management.yaml", "{concept: diabetes}", "{concept: diabetis}", "'diabetis' is not one of"),
    ("management.yaml", "{concept: diabetes}", "{pain_at_least: severe}", "wrap it in 'finding:'"),
    ("management.yaml", "source: nsaid_ckd", "source: nsaid_kidney", "not in bibliography.yaml"),
    ("management.yaml", "  - id: wound_care", "  - id: wound_dressing", "missing contract ids"),
    ("syndromes.yaml", "      - certainty: definitive\n        when: {major_categories",
     "      - certainty: possible\n        when: {major_categories", "strongest first"),
    ("syndromes.yaml", "{criterion: stated}", "{criterion: told}", "'told' is not one of"),
    ("concepts.yaml", "  - id: warfarin", "  - id: diabetes", "duplicate id 'diabetes'"),
    ("workup.yaml", "  - id: ionized_calcium", "  - id: serum_calcium",
     "duplicate id 'serum_calcium'"),
    ("types.yaml", "site_heart_valve, site_coronary", "site_valve, site_coronary",
     "unknown site 'site_valve'"),
    ("alerts.yaml", "  - id: pregnancy\n", "  - id: pregnant\n", "missing contract ids"),
    ("definitions.yaml", "  results: 2", "  results: 1", "greater than or equal to 2"),
    ("definitions.yaml", "impaired_from_stage: G3a", "impaired_from_stage: G3",
     "impaired_from_stage"),
    ("chemistry.yaml", "ultrafilterable_magnesium_fraction: 0.70",
     "ultrafilterable_magnesium_fraction: 1.70", "less than or equal to 1"),
    ("chemistry.yaml", 'source: "ectocalc_chemistry"', 'source: "ectocalc_chem"',
     "not in bibliography.yaml"),
    ("analytes.yaml", "canonical_unit: mg/dL", "canonical_unit: mmol/L", "must have factor 1"),
    ("management.yaml", "  - id: joint_replacement\n",
     "  - id: joint_replacement\n    guards: []\n    guards: []\n", "duplicate key 'guards'"),
    ("analytes.yaml", "published: [1.54, 2.72], range: [4.8, 8.4]",
     "published: [1.54, 2.72], range: [4.7, 7.6]", "is not the published [1.54, 2.72] mmol/L"),
])
def test_a_broken_file_fails_loudly(broken: Callable[[str, str, str], Path], name: str, old: str,
                                    new: str, message: str) -> None:
    directory = broken(name, old, new)
    with pytest.raises(KnowledgeError, match=rf"(?s){re.escape(name)}.*{re.escape(message)}"):
        load_knowledge(directory)


def test_a_missing_file_fails(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "data")
    (tmp_path / "data" / "alerts.yaml").unlink()
    with pytest.raises(KnowledgeError, match=re.escape("missing alerts.yaml")):
        load_knowledge(tmp_path / "data")


# ------------------------------------------------------------------- one bundle, one version


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.yaml")))
def test_changing_any_file_changes_the_version(tmp_path: Path, name: str) -> None:
    shutil.copytree(DATA, tmp_path / "data")
    path = tmp_path / "data" / name
    path.write_bytes(path.read_bytes() + b"# one more comment byte\n")
    changed = load_knowledge(tmp_path / "data")
    assert changed.version != KB.version
    assert changed.version.split("+")[0] == KB.version.split("+")[0]


def test_a_copied_bundle_has_the_packaged_version(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "data")
    assert load_knowledge(tmp_path / "data").version == KB.version


def test_two_bundles_load_side_by_side(broken: Callable[[str, str, str], Path]) -> None:
    """A bundle with another corrected-calcium critical limit reasons on its own numbers."""
    from ectocalc.assess import assess
    from ectocalc.model import Case, LabResult

    other = load_knowledge(broken("analytes.yaml", "critical: [6.0, 13.0]",
                                  "critical: [6.0, 11.0]"))
    labs = [LabResult(analyte="calcium", value=12.0, unit="mg/dL", canonical_value=12.0,
                      canonical_unit="mg/dL")]
    case = Case(labs=labs)
    packaged, altered = assess(case, knowledge=KB), assess(case, knowledge=other)
    assert [r.flag for r in packaged.labs] == ["high"]
    assert [r.flag for r in altered.labs] == ["critical_high"]
    assert altered.knowledge_version == other.version != packaged.knowledge_version
    assert KB.analytes.analytes["calcium"].critical == (6.0, 13.0)


def test_every_bundled_file_is_validated() -> None:
    """Each file of the packaged bundle is a core file or has a registered schema."""
    from pydantic import BaseModel

    import ectocalc.cds._schema
    import ectocalc.imaging._knowledge
    import ectocalc.record._rules
    import ectocalc.render._words
    import ectocalc.scales  # noqa: F401 - registers scales.yaml

    unvalidated = [name for name, value in load_knowledge(DATA).files.items()
                   if not isinstance(value, BaseModel)]
    assert unvalidated == []


def test_definitions_come_from_the_bundle(broken: Callable[[str, str, str], Path]) -> None:
    """"Persistent" and "impaired kidney function" are read from definitions.yaml."""
    from datetime import date

    from ectocalc.model import Case, Derived, LabResult
    from ectocalc.reasoning import build_facts, evaluate

    def phosphate(value: float, day: int) -> LabResult:
        return LabResult(analyte="phosphate", value=value, unit="mg/dL", canonical_value=value,
                         canonical_unit="mg/dL", date=date(2026, 1, day))

    case = Case(labs=[phosphate(5.2, 1), phosphate(5.6, 30)])  # 29 days apart (min_span_days 28)
    strict = load_knowledge(broken("definitions.yaml", "  results: 2", "  results: 3"))
    for kb, persistent in ((KB, True), (strict, False)):
        facts = build_facts(case=case, labs=[], derived=Derived(egfr_ml_min_1_73m2=55.0),
                            mentions=[], knowledge=kb)
        assert evaluate({"persistent_high.phosphate": True}, facts).ok is persistent
    lenient = load_knowledge(broken("definitions.yaml", "impaired_egfr_below: 60",
                                    "impaired_egfr_below: 50"))
    for kb, state in ((KB, "impaired"), (lenient, "normal")):
        facts = build_facts(case=Case(), labs=[], derived=Derived(egfr_ml_min_1_73m2=55.0),
                            mentions=[], knowledge=kb)
        assert evaluate({"kidney_function": state}, facts).evidence == (
            "eGFR 55 mL/min/1.73 m²",)
