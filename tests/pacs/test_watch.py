"""``ectocalc pacs watch --once`` against a real Orthanc: each new study once, resumable,
failures listed with their reason."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from orthanc_server import PASSWORD, USER, Orthanc, upload_phantom
from pydicom import dcmread
from pydicom.uid import generate_uid


def _wait_stable(orthanc: Orthanc, study_uid: str) -> None:
    """Until Orthanc's change feed has marked the study stable (StableAge is 1 s here)."""
    for _ in range(200):
        changes = orthanc.get("/changes?limit=1000")["Changes"]
        ids = [c["ID"] for c in changes if c["ChangeType"] == "StableStudy"]
        uids = [orthanc.get(f"/studies/{i}")["MainDicomTags"]["StudyInstanceUID"] for i in ids]
        if study_uid in uids:
            return
        time.sleep(0.1)
    pytest.fail(f"Orthanc never marked study {study_uid} stable")


def _upload_localizer_only(orthanc: Orthanc, source: Path) -> str:
    """A study holding a single CT slice marked LOCALIZER: nothing the loader can score."""
    ds = dcmread(next(iter(sorted(source.iterdir()))))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    from io import BytesIO

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    reply = requests.post(f"{orthanc.root}/instances", data=buffer.getvalue(),
                          auth=(USER, PASSWORD), timeout=30)
    reply.raise_for_status()
    return str(ds.StudyInstanceUID)


def test_watch_once_scores_each_new_study_once(run_cli, netrc_env: Orthanc,
                                               tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    # Everything already on the server (other tests' studies) is taken once first.
    first = run_cli("pacs", "watch", netrc_env.dicomweb, "--state", state, "--once")
    assert first.code == 0, first.stderr
    study_uid, _ = upload_phantom(netrc_env, tmp_path / "phantom", seed=11)
    localizer = _upload_localizer_only(netrc_env, tmp_path / "phantom" / "dicom")
    _wait_stable(netrc_env, study_uid)
    _wait_stable(netrc_env, localizer)
    run = run_cli("pacs", "watch", netrc_env.dicomweb, "--state", state, "--once")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert next(x for x in lines if study_uid in x).startswith(f"done {study_uid}: Agatston ")
    failed = next(x for x in lines if localizer in x)
    assert failed.startswith(f"failed {localizer}:") and "localizer" in failed.lower()
    saved = json.loads(state.read_text())
    assert saved["studies"][study_uid]["status"] == "done"
    assert saved["studies"][localizer]["status"] == "failed"
    # The scored study now holds our SEG and SR, whose arrival does not make it new again.
    _wait_stable(netrc_env, study_uid)
    again = run_cli("pacs", "watch", netrc_env.dicomweb, "--state", state, "--once")
    assert again.code == 0 and again.stdout == ""


def test_qido_polling_finds_a_new_study(run_cli, netrc_env: Orthanc, tmp_path: Path) -> None:
    phantom = tmp_path / "phantom"
    upload_phantom(netrc_env, phantom, seed=12)
    known = {s["MainDicomTags"]["StudyInstanceUID"]: {
        "study_uid": s["MainDicomTags"]["StudyInstanceUID"], "status": "done", "at": "x"}
        for s in netrc_env.get("/studies?expand")}
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"studies": known, "orthanc_since": 0, "qido_from": None}))
    localizer = _upload_localizer_only(netrc_env, phantom / "dicom")
    run = run_cli("pacs", "watch", netrc_env.dicomweb, "--state", state, "--once",
                  "--feed", "qido")
    assert run.code == 0, run.stderr
    assert [x.split(":")[0] for x in run.stdout.splitlines()] == [f"failed {localizer}"]
    assert json.loads(state.read_text())["qido_from"] is not None


def test_a_broken_state_file_is_one_line(run_cli, netrc_env: Orthanc, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("[1, 2]")
    run = run_cli("pacs", "watch", netrc_env.dicomweb, "--state", state, "--once")
    assert run.code == 2 and "state.json" in run.stderr and run.stderr.count("\n") == 1
