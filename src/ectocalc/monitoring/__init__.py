"""Monitoring schedules (KDIGO 2017 CKD-MBD 3.1.1-3.1.3), as data in ``monitoring.yaml``.

Examples
--------
>>> from ectocalc.knowledge import load_knowledge
>>> kb = load_knowledge()
>>> [(m.test, m.interval_months) for m in monitoring_plan("G4", knowledge=kb)][:2]
[('serum_calcium', (3.0, 6.0)), ('serum_phosphate', (3.0, 6.0))]
>>> monitoring_plan("G2", knowledge=kb)
[]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ectocalc.model.assessment import MonitoringItem

if TYPE_CHECKING:
    from ectocalc.knowledge import Knowledge


def monitoring_plan(ckd_stage: str | None, *, knowledge: Knowledge) -> list[MonitoringItem]:
    """The KDIGO 2017 monitoring intervals for an adult at this CKD stage (G3a and worse).

    Parameters
    ----------
    ckd_stage : str or None
        The KDIGO stage (``G3a`` … ``G5D``); stages without a schedule give an empty plan.
    knowledge : Knowledge
        The knowledge bundle (its ``monitoring`` schedules).
    """
    data = knowledge.monitoring
    schedule = next((s for s in data.schedules if ckd_stage in s.stages), None)
    if schedule is None:
        return []
    return [
        MonitoringItem(test=item.test, interval_months=item.interval_months, reason=item.reason,
                       source=f"KDIGO 2017 {item.recommendation}")
        for item in [*schedule.items, *data.all_stages]
    ]


def monitoring_notes(*, knowledge: Knowledge) -> list[str]:
    """General notes that go with any schedule."""
    return list(knowledge.monitoring.notes)


__all__ = ["monitoring_notes", "monitoring_plan"]
