"""The clinician HTML report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from ectocalc.model import Assessment, ScanResult
from ectocalc.service import render_assessment


def test_each_ct_of_an_assessment_has_its_own_heading() -> None:
    """Two CTs in the record read apart by their date (the web patient page shows both)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "record"
    scan = ScanResult.model_validate(json.loads((example / "scan-2026-03-05.json").read_text()))
    scans = [scan.model_copy(update={"study_date": date(2024, 3, 5), "source": None}),
             scan.model_copy(update={"study_date": date(2026, 3, 5), "source": None})]
    a = Assessment(disclaimer="d", knowledge_version="1", ectocalc_version="0", imaging=scans)
    html = render_assessment(a, format="html")
    assert f"<h2>CT of 2024-03-05 — {scan.convention}</h2>" in html
    assert f"<h2>CT of 2026-03-05 — {scan.convention}</h2>" in html
