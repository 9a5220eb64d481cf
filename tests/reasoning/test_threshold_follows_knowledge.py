"""The reasoning follows the numbers in the knowledge bundle, never the wording of a sentence.

A copy of the packaged bundle with ``kidney_function.impaired_egfr_below`` changed must move
the behaviour with it. Regression: ``reasoning/facts.py`` once tested whether the chronicity
sentence started with "eGFR below 60", so a threshold of 59 silently dropped the CKD diagnosis.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ectocalc.assess import assess
from ectocalc.io.case_file import load_case
from ectocalc.knowledge import Knowledge, load_knowledge

REPO = Path(__file__).resolve().parents[2]
# Creatinine 1.6 and 1.7 mg/dL, 111 days apart, woman of 68: CKD-EPI 2021 eGFR 34 and 32.
CHRONIC = REPO / "examples" / "vignettes" / "43-chronic-two-egfr-90-days.yaml"
BUNDLE = Path(load_knowledge.__code__.co_filename).parent / "data"


def _bundle(tmp_path: Path, below: float) -> Knowledge:
    folder = tmp_path / f"kb-{below:g}"
    shutil.copytree(BUNDLE, folder)
    definitions = folder / "definitions.yaml"
    data = yaml.safe_load(definitions.read_text(encoding="utf-8"))
    data["kidney_function"]["impaired_egfr_below"] = below
    definitions.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_knowledge(folder)


@pytest.mark.parametrize(("below", "chronic"), [(60, True), (59, True), (35, True), (30, False)])
def test_ckd_by_egfr_follows_impaired_egfr_below(tmp_path: Path, below: float,
                                                 chronic: bool) -> None:
    knowledge = _bundle(tmp_path, below)
    assert knowledge.definitions.kidney_function.impaired_egfr_below == below
    result = assess(load_case(CHRONIC), knowledge=knowledge)
    assert (result.derived.ckd_chronicity_by == "egfr") is chronic
    assert (f"eGFR below {below:g}" in (result.derived.ckd_chronicity or "")) is chronic
    # The CKD the two reduced results establish reaches the reasoning: CKD-MBD is definitive
    # (established CKD with its biochemical abnormalities), else only possible (a G3b stage).
    certainty = {s.id: s.certainty for s in result.syndromes}["ckd_mbd"]
    assert certainty == ("definitive" if chronic else "possible")
    # The KDIGO 2017 3.1.2 CKD-MBD schedule needs established CKD.
    assert any(m.source == "KDIGO 2017 3.1.2" for m in result.monitoring) is chronic
