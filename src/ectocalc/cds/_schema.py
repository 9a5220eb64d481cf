"""Schema of ``knowledge/data/order_checks.yaml``: kinds of draft order and their checks."""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ectocalc.knowledge import load_knowledge
from ectocalc.knowledge.load import register_file
from ectocalc.knowledge.schema import Condition, KnowledgeError, Sourced
from ectocalc.reasoning.rules import compiled

FILE = "order_checks.yaml"
CodeSystem = Literal["rxnorm", "atc", "snomed", "loinc"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OverrideReason(_Entry):
    """A CDS Hooks ``overrideReasons`` Coding offered on every order card."""

    code: str
    display: str


class OrderKind(Sourced):
    """A kind of order, recognised in a draft by code, concept wording or text pattern."""

    id: str
    label: str
    resources: list[Literal["MedicationRequest", "ServiceRequest"]]
    concepts: list[str] = Field(default_factory=list)
    """Medication concepts of ``concepts.yaml`` whose wording names this kind."""
    codes: dict[CodeSystem, list[str]] = Field(default_factory=dict)
    """Codes by system; ATC codes match by prefix (a class names its members)."""
    patterns: list[str] = Field(default_factory=list)
    """Text patterns (case-insensitive words, or ``re:`` regular expressions)."""

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if pattern.startswith("re:"):
                re.compile(pattern[3:])
        return patterns


class OrderCheck(Sourced):
    """One check: a draft of ``order`` for a patient for whom ``when`` holds."""

    id: str
    order: str
    when: Condition
    indicator: Literal["info", "warning", "critical"]
    summary: str = Field(max_length=139)
    message: str
    suggest: Literal["delete"] = "delete"

    @field_validator("when")
    @classmethod
    def _grammar(cls, when: Condition) -> Condition:
        compiled(when)  # an unknown predicate is refused when the bundle loads
        return when


class OrderChecksFile(_Entry):
    version: int
    override_reasons: list[OverrideReason]
    orders: list[OrderKind]
    checks: list[OrderCheck]

    @model_validator(mode="after")
    def _known_orders(self) -> OrderChecksFile:
        kinds = {kind.id for kind in self.orders}
        unknown = [check.id for check in self.checks if check.order not in kinds]
        if unknown:
            raise ValueError(f"checks {unknown} name an order kind not in `orders`")
        return self


register_file(FILE, OrderChecksFile)


@cache
def order_checks() -> OrderChecksFile:
    """``order_checks.yaml`` of the packaged knowledge, its sources and concepts checked.

    Raises
    ------
    KnowledgeError
        A source not in the bibliography or a concept not in ``concepts.yaml`` (a packaging
        defect).
    """
    knowledge = load_knowledge()
    rules = knowledge.part(FILE, OrderChecksFile)
    known = knowledge.bibliography.sources
    concepts = {entry.id for entry in knowledge.lexicon.concepts}
    cited = [(kind.id, kind.source) for kind in rules.orders] + [
        (check.id, check.source) for check in rules.checks]
    for entry, source in cited:
        if source.partition(":")[0] not in known:
            raise KnowledgeError(f"knowledge/{FILE}: {entry}: unknown source {source}")
    for kind in rules.orders:
        missing = sorted(set(kind.concepts) - concepts)
        if missing:
            raise KnowledgeError(f"knowledge/{FILE}: {kind.id}: unknown concepts {missing}")
    return rules
