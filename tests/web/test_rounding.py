"""The patient page and API show the core's judgement, rounded where it is rendered, with the
knowledge bundle the application was given.

Regression: the page showed "eGFR 19.724196703409817" and "age 66.76935186896377" (the
assessment section was rendered from the full-precision assessment).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import yaml
from tests.web.conftest import WebEnv, sign_in

from ectocalc.knowledge import load_knowledge
from ectocalc.record import add_files, open_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "record"
LONG = re.compile(r"\d\.\d{5,}")


def _example(web_env: WebEnv) -> None:
    store = open_store(web_env.db_url)
    files = [*sorted(EXAMPLE.glob("visit-*.yaml")), *sorted(EXAMPLE.glob("scan-*.json"))]
    assert all(r.status == "added" for r in add_files(store, files, patient_id="MRN-0042"))
    store.dispose()


def test_patient_page_and_api_show_rounded_numbers(web_env: WebEnv) -> None:
    _example(web_env)
    with web_env.client() as client:
        sign_in(client, "doc")
        page = client.get("/patients/MRN-0042").text
        shown = client.get("/api/patients/MRN-0042").json()
    # CKD-EPI 2021 at the last visit: 19.724196703409817 mL/min/1.73 m2, shown 19.72
    assert "19.72" in page and "19.7241" not in page
    assert LONG.findall(page) == []
    assert [p["value"] for p in shown["series"]["egfr"]] == [35.79, 27.21, 19.72]
    assert shown["trends"]["egfr"]["slope_per_year"] == -8.03
    assert round(shown["patient"]["age_years"], 2) == shown["patient"]["age_years"]


def test_the_app_judges_with_the_bundle_it_is_given(web_env: WebEnv, tmp_path: Path) -> None:
    _example(web_env)
    folder = tmp_path / "kb"
    shutil.copytree(Path(load_knowledge.__code__.co_filename).parent / "data", folder)
    analytes = yaml.safe_load((folder / "analytes.yaml").read_text(encoding="utf-8"))
    analytes["analytes"]["phosphate"]["reference"] = [2.5, 6.0]  # upper limit 4.5 -> 6.0
    (folder / "analytes.yaml").write_text(yaml.safe_dump(analytes, sort_keys=False,
                                                         allow_unicode=True), encoding="utf-8")
    widened = dataclasses.replace(web_env, config=dataclasses.replace(
        web_env.config, knowledge=load_knowledge(folder)))
    flags = {}
    for name, env in (("packaged", web_env), ("widened", widened)):
        with env.client() as client:
            sign_in(client, "doc")
            shown = client.get("/api/patients/MRN-0042").json()
        flags[name] = [p["flag"] for p in shown["series"]["phosphate"]]  # 4.2, 4.9, 5.6 mg/dL
    assert flags == {"packaged": ["normal", "high", "high"],
                     "widened": ["normal", "normal", "normal"]}
