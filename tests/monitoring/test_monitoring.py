"""KDIGO 2017 CKD-MBD monitoring intervals (3.1.1-3.1.3) by CKD stage."""

from __future__ import annotations

import pytest

from ectocalc.knowledge import load_knowledge
from ectocalc.monitoring import monitoring_plan

KB = load_knowledge()


def _plan(stage: str | None) -> dict[str, tuple[float, float] | None]:
    return {item.test: item.interval_months for item in monitoring_plan(stage, knowledge=KB)}


@pytest.mark.parametrize("stage", [None, "G1", "G2"])
def test_no_schedule_before_g3a(stage: str | None) -> None:
    assert monitoring_plan(stage, knowledge=KB) == []


@pytest.mark.parametrize("stage", ["G3a", "G3b"])
def test_g3(stage: str) -> None:
    assert _plan(stage) == {"serum_calcium": (6, 12), "serum_phosphate": (6, 12), "pth": None,
                            "vitamin_d_25oh": None}


def test_g4() -> None:
    assert _plan("G4") == {"serum_calcium": (3, 6), "serum_phosphate": (3, 6), "pth": (6, 12),
                           "alkaline_phosphatase": (12, 12), "vitamin_d_25oh": None}


@pytest.mark.parametrize("stage", ["G5", "G5D"])
def test_g5(stage: str) -> None:
    assert _plan(stage) == {"serum_calcium": (1, 3), "serum_phosphate": (1, 3), "pth": (3, 6),
                            "alkaline_phosphatase": (12, 12), "vitamin_d_25oh": None}


def test_every_item_cites_its_recommendation() -> None:
    sources = {item.test: item.source for item in monitoring_plan("G4", knowledge=KB)}
    assert sources["serum_calcium"] == "KDIGO 2017 3.1.2"
    assert sources["vitamin_d_25oh"] == "KDIGO 2017 3.1.3"
