"""Numbers on the patient page and in the patient API are rounded where they are rendered.

Regression: the page showed "eGFR 19.724196703409817" and "age 66.76935186896377" (the
assessment section was rendered from the full-precision assessment).
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import WebEnv, sign_in
from ectocalc.record import add_files, open_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "record"
LONG = re.compile(r"\d\.\d{5,}")


def test_patient_page_and_api_show_rounded_numbers(web_env: WebEnv) -> None:
    store = open_store(web_env.db_url)
    files = [*sorted(EXAMPLE.glob("visit-*.yaml")), *sorted(EXAMPLE.glob("scan-*.json"))]
    assert all(r.status == "added" for r in add_files(store, files, patient_id="MRN-0042"))
    store.dispose()
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
