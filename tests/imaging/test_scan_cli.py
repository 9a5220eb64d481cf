"""``ectocalc scan`` on the command line: JSON/text output and one-line refusals (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from ct_builders import CT2, CT5N, save_nifti, write_series
from test_loading import make_bad_series

from ectocalc.imaging import load_ct


def assert_one_line_refusal(result, *words: str) -> None:
    assert result.code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_json_is_one_document_with_contract_keys(run_cli, scan_phantom: Path) -> None:
    result = run_cli("scan", scan_phantom / "dicom", "--format", "json")
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["convention"] == "agatston-1990" and document["threshold_hu"] == 130
    assert document["agatston"] > 0 and len(document["lesions"]) >= 13
    assert set(document["by_type"]) == {"vascular", "periarticular", "cutaneous", "visceral",
                                        "soft_tissue"}
    assert document["outputs"] == {}


def test_text_report_shows_table_totals_and_acquisition(run_cli, scan_phantom: Path) -> None:
    result = run_cli("scan", scan_phantom / "dicom", "--convention", "all")
    assert result.code == 0, result.stderr
    for words in ("120 kVp", "increment 3.00 mm", "Lesions (bone excluded)", "cutaneous",
                  "van-velzen", "comp2comp", "peak HU"):
        assert words in result.stdout
    # The coronary bands are not applied to a scan without cardiac lesions.
    assert "coronary Agatston band" not in result.stdout


def test_ct5n_scores_zero_and_kvp_option_changes_threshold(run_cli) -> None:
    result = run_cli("scan", CT5N, "--format", "json", "--kvp", "100")
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["threshold_hu"] == 145 and document["kvp"] == 100
    assert document["agatston"] == 0 and document["lesions"] == []
    assert document["slice_increment_mm"] == 2.5


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("modality", ("Modality", "no CT image series")),
        ("tilt", ("ImagePositionPatient", "gantry tilt")),
        ("missing", ("ImagePositionPatient", "slice gap")),
        ("undecodable", ("TransferSyntaxUID", "1.2.840.10008.1.2.4.50")),
        ("not_dicom", ("no DICOM files found",)),
    ],
)
def test_bad_series_exit_2_with_one_line(run_cli, tmp_path: Path, case: str,
                                         words: tuple[str, ...]) -> None:
    make_bad_series(tmp_path / "ct", case)
    assert_one_line_refusal(run_cli("scan", tmp_path / "ct"), str(tmp_path / "ct"), *words)


def test_ct2_gap_refused(run_cli) -> None:
    assert_one_line_refusal(run_cli("scan", CT2), "17136", "slice gap of 202.50 mm")


def test_mixed_series_refused(run_cli, tmp_path: Path) -> None:
    write_series(tmp_path, np.zeros((3, 8, 8)), series_uid="1.2.3.7", prefix="A")
    write_series(tmp_path, np.zeros((2, 8, 8)), series_uid="1.2.3.8", prefix="B")
    assert_one_line_refusal(run_cli("scan", tmp_path), "SeriesInstanceUID", "1.2.3.7",
                            "1.2.3.8")


def test_text_file_and_missing_path_refused(run_cli, tmp_path: Path) -> None:
    text = tmp_path / "report.txt"
    text.write_text("not an image")
    assert_one_line_refusal(run_cli("scan", text), "report.txt", "no DICOM files found")
    assert_one_line_refusal(run_cli("scan", tmp_path / "absent"), "no such file")
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"garbage")
    assert_one_line_refusal(run_cli("scan", broken), "broken.nii.gz", "not a readable NIfTI")


def test_anatomy_shape_mismatch_refused(run_cli, tmp_path: Path) -> None:
    folder = write_series(tmp_path / "ct", np.zeros((4, 16, 16)))
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ load_ct(folder).affine
    nib.save(nib.Nifti1Image(np.ones((8, 8, 2), np.uint8), ras), tmp_path / "map.nii.gz")
    (tmp_path / "names.json").write_text('{"1": "aorta"}')
    result = run_cli("scan", folder, "--anatomy", tmp_path / "map.nii.gz", "--anatomy-names",
                     tmp_path / "names.json")
    assert_one_line_refusal(result, "map.nii.gz", "does not cover the CT")


def test_contrast_enhanced_refused(run_cli, tmp_path: Path) -> None:
    hu = np.full((12, 64, 64), 40.0)
    _, y, x = np.mgrid[:12, :64, :64]
    hu[np.hypot(y - 32, x - 32) <= 12] = 320.0
    hu[:, :, :2] = -1000
    folder = write_series(tmp_path / "cta", hu, pixel_mm=0.7)
    assert_one_line_refusal(run_cli("scan", folder), "contrast-enhanced CT", "--contrast lumen")
    write_series(tmp_path / "tagged", np.full((3, 16, 16), 40.0), contrast_agent="OMNIPAQUE")
    assert_one_line_refusal(run_cli("scan", tmp_path / "tagged"), "ContrastBolusAgent",
                            "OMNIPAQUE")


def test_bad_options_refused(run_cli, scan_phantom: Path) -> None:
    assert_one_line_refusal(run_cli("scan", scan_phantom / "dicom", "--convention", "nope"),
                            "--convention", "agatston-1990")
    assert_one_line_refusal(run_cli("scan", scan_phantom / "dicom", "--calibration", "-1"),
                            "--calibration")
    assert_one_line_refusal(run_cli("scan", scan_phantom / "dicom", "--kvp", "900"), "--kvp")


def test_nifti_gives_the_same_lesions_as_dicom(run_cli, scan_phantom: Path,
                                               tmp_path: Path) -> None:
    save_nifti(load_ct(scan_phantom / "dicom"), tmp_path / "ct.nii.gz")
    from_dicom = json.loads(run_cli("scan", scan_phantom / "dicom", "--format", "json").stdout)
    result = run_cli("scan", tmp_path / "ct.nii.gz", "--format", "json", "--kvp", "120")
    assert result.code == 0, result.stderr
    from_nifti = json.loads(result.stdout)
    strip = ("id", "centroid_mm", "volume_mm3", "mass_mg", "peak_hu", "agatston", "type",
             "slices")
    assert [{k: x[k] for k in strip} for x in from_nifti["lesions"]] == \
        [{k: x[k] for k in strip} for x in from_dicom["lesions"]]
    assert from_nifti["agatston"] == from_dicom["agatston"]


def test_nifti_out_skips_seg_and_sr_with_warning(run_cli, scan_phantom: Path,
                                                 tmp_path: Path) -> None:
    save_nifti(load_ct(scan_phantom / "dicom"), tmp_path / "ct.nii.gz")
    result = run_cli("scan", tmp_path / "ct.nii.gz", "--format", "json", "--out",
                     tmp_path / "out")
    document = json.loads(result.stdout)
    assert "seg" not in document["outputs"] and "csv" in document["outputs"]
    assert any("SEG and SR not written" in w for w in document["warnings"])


def test_zip_input(run_cli, scan_phantom: Path, tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "series"), "zip", scan_phantom / "dicom")
    result = run_cli("scan", archive, "--format", "json")
    assert result.code == 0, result.stderr
    assert len(json.loads(result.stdout)["lesions"]) >= 13
