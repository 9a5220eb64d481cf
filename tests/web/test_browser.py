"""End to end in a real browser (Debian's Chromium through Playwright): sign in, import a case
and the phantom CT, read the patient page with its trend plot, step through the CT viewer to a
lesion, download the PDF, open the API docs. Screenshots go to the test's tmp folder and to
/work/coord/screens/ when that folder's parent exists."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.web.conftest import PASSWORDS, WebEnv
from tests.web.test_routes import CASE

CHROMIUM = Path("/usr/bin/chromium")
_SNAKE_ID = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
"""A knowledge-base id (``persistent_high_pth``): never in what a clinician reads."""
_PATH = re.compile(r"(?<!\w)/[\w./-]+")
"""A file path (a scan's source), not a unit like ``pg/mL``."""
SCREENS = Path("/work/coord/screens")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason="needs /usr/bin/chromium (required when CI=true)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(web_env: WebEnv) -> Iterator[str]:
    import uvicorn

    from ectocalc.web import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(web_env.config), host="127.0.0.1", port=port,
                            access_log=False, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(200):
        if instance.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_clinician_journey(server: str, phantom_zip: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screens"
    shots.mkdir()
    case_file = tmp_path / "mrn-web-1.yaml"
    case_file.write_text(CASE)
    problems: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1360, "height": 900},
                                      accept_downloads=True)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        page.goto(server + "/")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        shot("01-sign-in")
        page.fill("input[name=username]", "doc")
        page.fill("input[name=password]", PASSWORDS["doc"])
        page.click("button[type=submit]")
        expect(page).to_have_url(server + "/patients")

        page.click("nav >> text=Import")
        page.set_input_files("input[name=file]", str(case_file))
        page.click("form.import button[type=submit]")
        # queued in the background: the page polls the job, then links to the patient
        expect(page.locator(".job")).to_contain_text("Case added for", timeout=60_000)
        page.locator(".job").get_by_role("link", name="MRN-WEB-1").click()
        expect(page).to_have_url(server + "/patients/MRN-WEB-1")

        page.goto(server + "/import")
        page.set_input_files("input[name=file]", str(phantom_zip))
        page.fill("input[name=patient_id]", "MRN-WEB-1")
        page.click("form.import button[type=submit]")
        expect(page.locator(".job")).to_be_visible()
        shot("02-import-ct-progress")
        expect(page.get_by_role("link", name="Open the CT viewer")).to_be_visible(timeout=120_000)
        shot("03-import-ct-done")

        page.goto(server + "/patients")
        expect(page.get_by_role("link", name="MRN-WEB-1")).to_be_visible()
        shot("04-patient-list")

        page.get_by_role("link", name="MRN-WEB-1").click()
        mechanism = "Mechanism — primary: Metastatic calcification"
        expect(page.get_by_role("heading", name=mechanism)).to_be_visible()
        charts = page.locator("#trend-charts .uplot canvas")
        expect(charts.first).to_be_visible()
        assert page.locator("#trend-charts figure").count() >= 3  # phosphate, calcium, CAC, ...
        # the header strip: CASE's latest (2026-10-01) results, flagged against the typical
        # adult ranges (phosphate 2.5-4.5 mg/dL, PTH 10-65 pg/mL: both high)
        strip = page.get_by_role("region", name="Patient summary")
        expect(strip).to_contain_text("CKD G5D")
        expect(strip.locator("[data-series=phosphate]")).to_contain_text("7.8 mg/dL H")
        expect(strip.locator("[data-series=pth]")).to_contain_text("610 pg/mL H")
        expect(strip.locator("[data-series=calcium]")).to_contain_text("9.4 mg/dL")
        expect(strip.locator("[data-series=calcium]")).not_to_contain_text(" H")
        visible = re.sub(_PATH, "", page.inner_text("body"))  # file paths (scan source)
        assert "[check]" not in visible and "Seed:" not in visible
        assert _SNAKE_ID.findall(visible) == []  # persistent_high_pth, vitamin_d_25oh, ...
        assert not re.search(r"\b(findings|medications|conditions)\[\d+\]", visible)
        assert page.locator("h2", has_text="Alerts").count() == 1
        page.locator(".strip").screenshot(path=str(shots / "05a-header-strip.png"))
        shot("05-patient-page")

        with page.expect_download(timeout=120_000) as download:
            page.click("text=PDF report", no_wait_after=True)
        pdf = tmp_path / "report.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")
        pages = [re.sub(_PATH, "", " ".join((p.extract_text() or "").split()))
                 for p in PdfReader(pdf).pages]
        assert "Summary — patient MRN-WEB-1" in pages[0] and "PTH 610 pg/mL H" in pages[0]
        assert all(f"Page {i} / {len(pages)}" in text for i, text in enumerate(pages, 1))
        assert not any("[check]" in text or _SNAKE_ID.search(text) for text in pages)

        page.click("text=Open viewer")
        expect(page.locator("#slice")).to_be_visible()
        row = page.locator("#lesions tr[data-slice]").nth(1)
        target = int(row.get_attribute("data-slice") or "-1")
        row.click()
        expect(page.locator("#slider")).to_have_value(str(target))
        expect(page.locator("#slice")).to_have_attribute("src",
                                                        re.compile(rf"/slices/{target}\.png"))
        page.click("#next")
        expect(page.locator("#slider")).to_have_value(str(target + 1))
        page.click("#prev")
        expect(page.locator("#slice-label")).to_have_text(f"slice {target + 1} / 60")
        page.wait_for_function("() => document.getElementById('slice').complete && "
                               "document.getElementById('slice').naturalWidth === 256")
        expect(row).to_have_class(re.compile("current"))
        shot("06-ct-viewer-lesion")
        page.select_option("#window", "bone")
        page.wait_for_function(
            "() => document.getElementById('slice').src.includes('window=bone')")
        page.wait_for_function("() => document.getElementById('slice').complete")
        shot("07-ct-viewer-bone-window")

        page.goto(server + "/docs")
        expect(page.locator(".swagger-ui .title").first).to_contain_text("ectocalc",
                                                                          timeout=30_000)
        shot("08-api-docs")
        browser.close()

    if SCREENS.parent.exists():
        SCREENS.mkdir(exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, SCREENS / png.name)
    assert not [m for m in problems if "Content Security Policy" in m or "Refused" in m], problems
    assert problems == []
