"""The record's rules over time, as validated data (``knowledge/data/record.yaml``)."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ectocalc.knowledge import Knowledge, load_knowledge
from ectocalc.knowledge.load import register_file


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersistentHigh(_Rule):
    results: int = Field(ge=2)
    flags: list[str]
    sources: list[str]


class Direction(_Rule):
    window: int = Field(ge=2)
    stable_fraction: float = Field(gt=0)
    method: str
    sources: list[str]


class EgfrSlope(_Rule):
    min_values: int = Field(ge=2)
    min_span_years: float = Field(gt=0)
    rapid_decline_per_year: float = Field(gt=0)
    method: str
    sources: list[str]


class CacProgression(_Rule):
    hokanson_sqrt_difference: float = Field(gt=0)
    raggi_annual_percent: float = Field(gt=0)
    hokanson_source: str
    raggi_source: str
    comparable: list[str]


class RecordRules(_Rule):
    version: int
    persistent_high: PersistentHigh
    direction: Direction
    egfr_slope: EgfrSlope
    cac_progression: CacProgression
    monitoring_tests: dict[str, list[str]]
    _knowledge: Knowledge | None = PrivateAttr(default=None)

    @property
    def knowledge(self) -> Knowledge:
        """The bundle these rules were read from (the packaged one when built directly)."""
        return self._knowledge or load_knowledge()

    def cite(self, sources: list[str]) -> str:
        """Readable citations of bibliography ids (of the rules' own bundle), joined by '; '."""
        return "; ".join(self.knowledge.cite(source) for source in sources)


register_file("record.yaml", RecordRules)


@cache
def record_rules(knowledge: Knowledge | None = None) -> RecordRules:
    """``record.yaml`` of ``knowledge`` (default: the packaged bundle), checked: every source
    must be in the bibliography (a defect raises, naming the file). Cached per bundle."""
    knowledge = knowledge or load_knowledge()
    rules = knowledge.part("record.yaml", RecordRules).model_copy()
    rules._knowledge = knowledge
    known = knowledge.bibliography.sources
    cited = [*rules.persistent_high.sources, *rules.direction.sources, *rules.egfr_slope.sources,
             rules.cac_progression.hokanson_source, rules.cac_progression.raggi_source]
    unknown = sorted({source.partition(":")[0] for source in cited} - set(known))
    if unknown:
        raise RuntimeError(f"knowledge/record.yaml cites unknown sources: {', '.join(unknown)}")
    return rules
