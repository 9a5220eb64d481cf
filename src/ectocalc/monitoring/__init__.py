"""Monitoring schedules (KDIGO 2017 CKD-MBD 3.1.1-3.1.3), as data in ``monitoring.yaml``.

Examples
--------
>>> [(m.test, m.interval_months) for m in monitoring_plan("G4")][:2]
[('serum_calcium', (3.0, 6.0)), ('serum_phosphate', (3.0, 6.0))]
>>> monitoring_plan("G2")
[]
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ectocalc.model.assessment import MonitoringItem


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    test: str
    interval_months: tuple[float, float] | None
    recommendation: str
    reason: str


class _Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    stages: list[str]
    items: list[_Item]


class _Schedules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schedules: list[_Schedule]
    all_stages: list[_Item]
    notes: list[str]


@cache
def _schedules() -> _Schedules:
    text = files("ectocalc.knowledge").joinpath("data", "monitoring.yaml").read_text()
    try:
        return _Schedules.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise RuntimeError(f"ectocalc monitoring schedule is invalid: {error}") from error


def monitoring_plan(ckd_stage: str | None) -> list[MonitoringItem]:
    """The KDIGO 2017 monitoring intervals for an adult at this CKD stage (G3a and worse)."""
    data = _schedules()
    schedule = next((s for s in data.schedules if ckd_stage in s.stages), None)
    if schedule is None:
        return []
    return [
        MonitoringItem(test=item.test, interval_months=item.interval_months, reason=item.reason,
                       source=f"KDIGO 2017 {item.recommendation}")
        for item in [*schedule.items, *data.all_stages]
    ]


def monitoring_notes() -> list[str]:
    """General notes that go with any schedule."""
    return list(_schedules().notes)
