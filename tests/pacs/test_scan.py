"""``ectocalc pacs scan`` against a real Orthanc: query, retrieve, score, store SEG + SR."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
import requests
from orthanc_server import PASSWORD, USER, Orthanc, upload_phantom
from pydicom import dcmread
from pydicom.sr.codedict import codes

from ectocalc.imaging import quantify


@pytest.fixture(scope="module")
def stored(orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("phantom_scan")
    study_uid, truth = upload_phantom(orthanc, out, seed=3)
    return {"study": study_uid, "truth": truth, "dicom": out / "dicom"}


def _series_of(orthanc: Orthanc, study_uid: str) -> dict[str, list[str]]:
    """Modality → series UIDs of a study, as Orthanc's own REST API lists them."""
    (found,) = requests.post(f"{orthanc.root}/tools/lookup", data=study_uid,
                             auth=(USER, PASSWORD), timeout=30).json()
    study_id = found["ID"]
    modalities: dict[str, list[str]] = {}
    for series in orthanc.get(f"/studies/{study_id}/series"):
        tags = series["MainDicomTags"]
        modalities.setdefault(tags["Modality"], []).append(tags["SeriesInstanceUID"])
    return modalities


def _instance_file(orthanc: Orthanc, series_uid: str) -> bytes:
    (found,) = requests.post(f"{orthanc.root}/tools/lookup", data=series_uid,
                             auth=(USER, PASSWORD), timeout=30).json()
    (instance,) = orthanc.get(f"/series/{found['ID']}/instances")
    reply = requests.get(f"{orthanc.root}/instances/{instance['ID']}/file",
                         auth=(USER, PASSWORD), timeout=30)
    reply.raise_for_status()
    return reply.content


def test_scan_store_puts_seg_and_sr_into_the_study(run_cli, netrc_env: Orthanc, stored: dict,
                                                   tmp_path: Path) -> None:
    run = run_cli("pacs", "scan", netrc_env.dicomweb, "--study", stored["study"], "--store")
    assert run.code == 0, run.stderr
    assert "stored" in run.stdout
    series = _series_of(netrc_env, stored["study"])
    assert set(series) == {"CT", "SEG", "SR"}
    sr_bytes = _instance_file(netrc_env, series["SR"][0])
    assert sr_bytes[128:132] == b"DICM"  # Part 10 with preamble, as the plugin needs
    (tmp_path / "sr.dcm").write_bytes(sr_bytes)
    sr = hd.sr.Comprehensive3DSR.from_dataset(dcmread(tmp_path / "sr.dcm"))
    (totals,) = sr.content.get_image_measurement_groups()
    (score,) = totals.get_measurements(name=codes.DCM.CalciumScore)
    # Scoring through the PACS gives what scoring the uploaded files locally gives.
    local = quantify(stored["dicom"])
    assert score.value == pytest.approx(local.agatston, abs=0.05)
    # Each 5 mm insert is a lesion group whose mass is the phantom's true mass within the
    # phantom tests' 15 % (the region's point lies on the insert).
    lesions = sr.content.get_planar_roi_measurement_groups()
    assert len(lesions) == len(local.lesions)
    inserts = [o for o in stored["truth"]["objects"] if o["id"].startswith("insert_5mm")]
    affine = np.array(stored["truth"]["series"]["affine_lps"])
    ct = {dcmread(p, stop_before_pixels=True).SOPInstanceUID: dcmread(
        p, stop_before_pixels=True) for p in stored["dicom"].iterdir()}
    for insert in inserts:
        def distance(group: hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations,
                     insert: dict = insert) -> float:
            region = group.roi
            source = region.ContentSequence[0].ReferencedSOPSequence[0]
            image = ct[source.ReferencedSOPInstanceUID]
            x, y = np.mean(region.value, axis=0) - 0.5  # SCOORD pixel centres are at +0.5
            position = (np.array(image.ImagePositionPatient, dtype=float)
                        + x * affine[:3, 0] + y * affine[:3, 1])
            return float(np.linalg.norm(position - insert["centre_lps_mm"]))
        nearest = min(lesions, key=distance)
        assert distance(nearest) < 3.0, insert["id"]
        (mass,) = nearest.get_measurements(name=codes.DCM.CalciumMass)
        assert mass.value == pytest.approx(insert["true_mass_mg"], rel=0.15), insert["id"]


def test_unreachable_server_is_one_line_exit_2(run_cli) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = run_cli("pacs", "scan", f"http://127.0.0.1:{port}/dicom-web", "--study", "1.2.3")
    assert run.code == 2
    assert run.stderr.count("\n") == 1 and "unreachable" in run.stderr


def test_without_credentials_the_server_refuses(run_cli, orthanc: Orthanc, monkeypatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    run = run_cli("pacs", "scan", orthanc.dicomweb, "--study", "1.2.3")
    assert run.code == 2
    assert "HTTP 401" in run.stderr and run.stderr.count("\n") == 1


def test_unknown_study_names_it(run_cli, netrc_env: Orthanc) -> None:
    run = run_cli("pacs", "scan", netrc_env.dicomweb, "--study", "1.2.3.4.5")
    assert run.code == 2
    assert "study 1.2.3.4.5" in run.stderr and "no CT series" in run.stderr
