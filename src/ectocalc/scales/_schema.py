"""Schema of ``knowledge/data/scales.yaml`` and its one loader.

The file holds every coefficient, threshold, category and plain-language sentence of the scales;
:func:`load_scales` validates it (pydantic, unknown keys refused) and checks that every source is
a bibliography id and every concept a lexicon id of the knowledge base it is used with. The file
is registered with the knowledge bundle (:func:`~ectocalc.knowledge.load.register_file`) and read
with ``knowledge.part("scales.yaml", ScalesFile)``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ectocalc.knowledge import Knowledge, KnowledgeError
from ectocalc.knowledge.load import register_file

MesaTerm = Literal["age", "male", "chinese", "black", "hispanic", "diabetes", "current_smoker",
                   "total_cholesterol_mg_dl", "hdl_cholesterol_mg_dl", "lipid_lowering_drug",
                   "systolic_bp_mmhg", "bp_drug", "family_history_mi", "ln_cac_plus_1"]
BinaryInput = Literal["diabetes", "current_smoker", "former_smoker", "lipid_lowering_drug",
                      "bp_drug", "family_history_mi", "smoking_unspecified"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Entry):
    """One category: a value takes the last band whose bound it meets."""

    id: str
    at_least: float | None = None
    above: float | None = None
    risk: str | None = None
    suggestion: str | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Band:
        if (self.at_least is None) == (self.above is None):
            raise ValueError(f"band {self.id}: give exactly one of at_least / above")
        return self

    def admits(self, value: float) -> bool:
        """Whether ``value`` reaches this band's lower bound."""
        return value >= self.at_least if self.at_least is not None else value > self.above  # type: ignore[operator]


class _Scale(_Entry):
    name: str
    source: str
    applies_to: str
    named_by: list[str] = Field(default_factory=list)


class MesaModel(_Entry):
    baseline_survival: float = Field(gt=0, lt=1)
    coefficients: dict[MesaTerm, float]


class MesaSpec(_Scale):
    check_values_source: str
    age_years: tuple[float, float]
    races: list[str]
    reference_race: str
    cholesterol_mg_dl_per_mmol_l: float = Field(gt=0)
    models: dict[Literal["with_cac", "without_cac"], MesaModel]
    concepts: dict[BinaryInput, list[str]]
    excluded_by: list[str]
    plain: dict[Literal["intro", "with_cac", "caveat"], str]

    @model_validator(mode="after")
    def _complete(self) -> MesaSpec:
        for key in ("with_cac", "without_cac"):
            terms = set(self.models[key].coefficients)
            expected = set(get_args(MesaTerm)) - ({"ln_cac_plus_1"} if key == "without_cac"
                                                  else set())
            if terms != expected:
                raise ValueError(f"models.{key}: terms {sorted(terms ^ expected)} missing or extra")
        races = set(self.races) - {self.reference_race}
        if not races <= set(get_args(MesaTerm)):
            raise ValueError(f"races without a coefficient: {sorted(races)}")
        return self


class CacDrsSpec(_Scale):
    min_age_years: float
    """Adults only: the categories and their treatment suggestions are not for children."""
    bands: list[Band]
    suggestion_source: str
    suggestion_check: bool = False
    suggestion_note: str
    max_vessels: int
    coronary_pattern: str
    vessel_patterns: dict[Literal["LM", "LAD", "LCx", "RCA"], str]
    plain: dict[str, str]


class AorticValveSpec(_Scale):
    site_pattern: str
    bands: dict[Literal["male", "female"], list[Band]]
    plain: dict[str, str]


class KauppilaSpec(_Scale):
    levels: list[Literal["L1", "L2", "L3", "L4"]]
    max_per_wall: int
    ckd_note: str
    ckd_source: str
    plain: dict[Literal["none", "some", "caveat"], str]


class AdragaoSpec(_Scale):
    sections: dict[Literal["pelvis", "hands"], int]
    bands: list[Band]
    plain: dict[str, str]


class ScalesFile(_Entry):
    """The whole ``scales.yaml``."""

    version: int
    mesa_chd_10y: MesaSpec
    cac_drs: CacDrsSpec
    aortic_valve_calcium: AorticValveSpec
    kauppila_aac24: KauppilaSpec
    adragao: AdragaoSpec

    def sources(self) -> list[str]:
        """Every bibliography reference the file makes."""
        specs = (self.mesa_chd_10y, self.cac_drs, self.aortic_valve_calcium,
                 self.kauppila_aac24, self.adragao)
        return [*(s.source for s in specs), *(n for s in specs for n in s.named_by),
                self.mesa_chd_10y.check_values_source, self.cac_drs.suggestion_source,
                self.kauppila_aac24.ckd_source]


register_file("scales.yaml", ScalesFile)


@cache
def packaged_scales() -> ScalesFile:
    """The packaged ``scales.yaml``, schema-validated only (defaults of the pure functions).

    Raises
    ------
    KnowledgeError
        The file is not YAML or breaks the schema.
    """
    raw = files("ectocalc.knowledge").joinpath("data", "scales.yaml").read_text()
    try:
        return ScalesFile.model_validate(yaml.safe_load(raw))
    except (yaml.YAMLError, ValidationError) as error:
        raise KnowledgeError(f"knowledge/scales.yaml: {error}") from error


def load_scales(knowledge: Knowledge) -> ScalesFile:
    """The bundle's ``scales.yaml``, validated and cross-checked against that bundle.

    Raises
    ------
    KnowledgeError
        The file is missing, breaks the schema, cites an unknown bibliography id or names an
        unknown concept.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> spec = load_scales(load_knowledge())
    >>> spec.mesa_chd_10y.models["with_cac"].baseline_survival
    0.99833
    """
    spec = knowledge.part("scales.yaml", ScalesFile)
    for source in spec.sources():
        if source.partition(":")[0] not in knowledge.bibliography.sources:
            raise KnowledgeError(f"knowledge/scales.yaml: source '{source}' is not in "
                                 "bibliography.yaml")
    concepts = {c.id for c in knowledge.lexicon.concepts}
    mesa = spec.mesa_chd_10y
    for name, ids in [*mesa.concepts.items(), ("excluded_by", mesa.excluded_by)]:
        unknown = set(ids) - concepts
        if unknown:
            raise KnowledgeError(f"knowledge/scales.yaml: mesa_chd_10y.concepts.{name}: "
                                 f"unknown concepts {sorted(unknown)}")
    return spec
