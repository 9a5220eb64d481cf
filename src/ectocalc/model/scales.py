"""Typed output of the clinical scales (contract section 3 ``scales``; section 4 for a scan).

Every scale carries its ``status``: ``computed``; ``not_computed`` (the case has some of its
inputs but not enough, or a value outside the scale's range: ``not_computed`` says why and
``missing`` lists what is needed); or ``no_data`` (nothing the scale uses is in the case).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ectocalc.vocabulary import Sex

ScaleStatus = Literal["computed", "not_computed", "no_data"]


class Scale(BaseModel):
    """What every scale reports besides its own result fields."""

    model_config = ConfigDict(extra="forbid")

    status: ScaleStatus
    name: str
    """The scale's name, e.g. "MESA 10-year CHD risk"."""
    label: str | None = None
    """The result in a few words, e.g. "CAC-DRS A2/N3" (None when not computed)."""
    reading: str | None = None
    """One line saying what the result means."""
    not_computed: str | None = None
    """Why it was not computed ("not computed: ..."), when it was not."""
    missing: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    """The values used, each with where it came from."""
    source: str
    applies_to: str
    notes: list[str] = Field(default_factory=list)


class CacDrs(Scale):
    category: Literal["A0", "A1", "A2", "A3"] | None = None
    vessels: Literal["N1", "N2", "N3", "N4"] | None = None
    """None when the score is 0 or the number of vessels was not reported."""
    agatston: float | None = None
    risk: str | None = None
    suggestion: str | None = None
    """The society's treatment suggestion for the category (decision support)."""


class MesaChd(Scale):
    risk_percent: float | None = None
    """With CAC when a coronary calcium score is known, else the model without CAC."""
    with_cac: bool = False
    without_cac_percent: float | None = None
    cac_agatston: float | None = None
    assumptions: list[str] = Field(default_factory=list)
    """Yes/no inputs the case does not state, and how they were taken."""


SevereAs = Literal["unlikely", "indeterminate", "likely", "very_likely"]


class AorticValveCalcium(Scale):
    agatston: float | None = None
    sex: Sex | None = None
    severe_as: SevereAs | None = None
    by_sex: dict[str, SevereAs] = Field(default_factory=dict)
    """The category for each sex, when the sex is not known (a scan on its own)."""


class KauppilaAac24(Scale):
    score: int | None = None
    anterior: int | None = None
    posterior: int | None = None


class Adragao(Scale):
    score: int | None = None
    high_risk: bool | None = None
    """Score of 3 or more (associated with cardiovascular events in Adragão 2004)."""


class Scales(BaseModel):
    """The assessment's ``scales`` section."""

    model_config = ConfigDict(extra="forbid")

    cac_drs: CacDrs | None = None
    mesa_chd_10y: MesaChd | None = None
    aortic_valve_calcium: AorticValveCalcium | None = None
    kauppila_aac24: KauppilaAac24 | None = None
    adragao: Adragao | None = None

    def shown(self) -> list[Scale]:
        """The scales a report shows: computed, or not computed for a stated reason."""
        items = (self.cac_drs, self.mesa_chd_10y, self.aortic_valve_calcium,
                 self.kauppila_aac24, self.adragao)
        return [x for x in items if x is not None and x.status != "no_data"]


class ScanScales(BaseModel):
    """A scan's ``scales``: the categories its typed coronary and valve lesions allow."""

    model_config = ConfigDict(extra="forbid")

    cac_drs: CacDrs | None = None
    aortic_valve_calcium: AorticValveCalcium | None = None
