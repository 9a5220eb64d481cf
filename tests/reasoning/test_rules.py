"""The rule evaluator: every grammar predicate is implemented, and predicates say why they hold."""

from __future__ import annotations

from ectocalc.knowledge import load_knowledge
from ectocalc.knowledge.schema import CASE_PREDICATES, FINDING_PREDICATES, KEYED_PREDICATES
from ectocalc.model import Case, Condition, Derived, Finding, GeneticFinding
from ectocalc.reasoning import rules
from ectocalc.reasoning.concepts import recognise
from ectocalc.reasoning.facts import Facts, build_facts

KB = load_knowledge()


def _facts(case: Case, derived: Derived | None = None) -> Facts:
    return build_facts(case=case, labs=[], derived=derived or Derived(),
                       mentions=recognise(case, knowledge=KB), knowledge=KB)


def test_every_grammar_predicate_is_implemented() -> None:
    assert set(rules._CASE) == set(CASE_PREDICATES)
    assert set(rules._KEYED) == set(KEYED_PREDICATES)
    finding_names = {"type", "site", "sign", "pain_at_least", "size_mm_above",
                     "size_mm_at_least", "size_mm_below", "ulcerated",
                     "functional_limitation", "conservative_treatment_failed", "modality",
                     "localised", "local_cause"}
    assert set(FINDING_PREDICATES) == finding_names


def test_combinators_collect_evidence() -> None:
    facts = _facts(Case(conditions=[Condition(text="CKD stage 4"), Condition(text="T2DM")]))
    match = rules.evaluate({"all": [{"ckd_stage_at_least": "G3b"}, {"concept": "diabetes"}]},
                           facts)
    assert match.ok
    assert match.evidence == ("CKD G4 from conditions[0].text: 'CKD stage 4'",
                              "conditions[1].text: 'T2DM' (Diabetes mellitus)")
    assert not rules.evaluate({"not": {"concept": "diabetes"}}, facts).ok
    assert rules.evaluate({"at_least": {"n": 1, "of": [{"concept": "warfarin"},
                                                       {"concept": "diabetes"}]}}, facts).ok
    assert not rules.evaluate({"at_least": {"n": 2, "of": [{"concept": "warfarin"},
                                                           {"concept": "diabetes"}]}}, facts).ok


def test_measured_stage_wins_over_the_stated_one() -> None:
    case = Case(conditions=[Condition(text="CKD 4")])
    facts = _facts(case, Derived(ckd_stage="G3a", egfr_ml_min_1_73m2=50.0))
    assert facts.ckd_stage == "G3a"
    assert not rules.evaluate({"ckd_stage_at_least": "G3b"}, facts).ok


def test_acute_kidney_injury_gives_no_ckd_stage() -> None:
    # labs/derive.py assigns no stage during AKI (tests/cli); the facts follow it and still
    # see the impaired kidney function.
    case = Case(conditions=[Condition(text="acute kidney injury")])
    facts = _facts(case, Derived(ckd_stage=None, egfr_ml_min_1_73m2=25.0))
    assert facts.ckd_stage is None
    assert rules.evaluate({"kidney_function": "impaired"}, facts).ok


def test_finding_predicates() -> None:
    case = Case(findings=[Finding(site="right shoulder, supraspinatus tendon", size_mm=15,
                                  pain="moderate", functional_limitation=True)])
    facts = _facts(case)
    assert facts.findings[0].type == "periarticular"
    held = rules.evaluate({"finding": {"all": [{"site": "site_tendon"}, {"size_mm_at_least": 15},
                                               {"pain_at_least": "mild"}]}}, facts)
    assert held.ok
    assert not rules.evaluate({"finding": {"size_mm_above": 15}}, facts).ok
    assert not rules.evaluate({"finding": {"pain_at_least": "severe"}}, facts).ok
    assert rules.evaluate({"finding": {"localised": True}}, facts).ok


def test_genes_by_zygosity() -> None:
    one = _facts(Case(genetics=[GeneticFinding(gene="ABCC6", zygosity="heterozygous")]))
    two = _facts(Case(genetics=[GeneticFinding(gene="ABCC6"), GeneticFinding(gene="ABCC6")]))
    vus = _facts(Case(genetics=[GeneticFinding(gene="ABCC6", classification="vus",
                                               zygosity="homozygous")]))
    assert rules.evaluate({"gene_monoallelic": "ABCC6"}, one).ok
    assert not rules.evaluate({"gene_biallelic": "ABCC6"}, one).ok
    assert rules.evaluate({"gene_biallelic": "ABCC6"}, two).ok
    assert not rules.evaluate({"gene": "ABCC6"}, vus).ok
