"""The whole pipeline on the bundled phantom: detection, mass, bone, typing, conventions."""

from __future__ import annotations

import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from scipy import ndimage

from ectocalc.imaging import analyse, load_ct, quantify
from ectocalc.imaging.detect import body_mask, bone_mask
from ectocalc.model.scan import ScanResult


@pytest.fixture(scope="module")
def result(scan_phantom: Path) -> ScanResult:
    return quantify(scan_phantom / "dicom")


@pytest.fixture(scope="module")
def typed(scan_phantom: Path) -> ScanResult:
    return quantify(scan_phantom / "dicom", anatomy=scan_phantom / "anatomy.nii.gz",
                    anatomy_names=scan_phantom / "anatomy_names.json")


def nearest_lesion(result: ScanResult, centre: list[float]):
    lesions = sorted(result.lesions, key=lambda x: np.linalg.norm(np.subtract(x.centroid_mm,
                                                                              centre)))
    return lesions[0], float(np.linalg.norm(np.subtract(lesions[0].centroid_mm, centre)))


def test_every_object_that_must_be_found_is_found(result: ScanResult, scan_truth: dict) -> None:
    must = [o for o in scan_truth["objects"] if o["should_detect"]]
    assert len(must) >= 13
    for obj in must:
        _, distance = nearest_lesion(result, obj["centre_lps_mm"])
        assert distance < 3.0, obj["id"]


def test_no_lesion_from_bone_table_or_noise(result: ScanResult, scan_truth: dict) -> None:
    expected = [o for o in scan_truth["objects"] if o["should_detect"] is not False]
    for lesion in result.lesions:
        distances = [np.linalg.norm(np.subtract(lesion.centroid_mm, o["centre_lps_mm"]))
                     for o in expected]
        assert min(distances) < 3.0, lesion
    # Every truth object flagged "never detect" (vertebrae, ribs, table, 0 mg rod) is absent.
    for obj in (o for o in scan_truth["objects"] if o["should_detect"] is False):
        _, distance = nearest_lesion(result, obj["centre_lps_mm"])
        assert distance > 5.0, obj["id"]


def test_mass_of_5_mm_inserts_within_15_percent(result: ScanResult, scan_truth: dict) -> None:
    inserts = [o for o in scan_truth["objects"] if o["id"].startswith("insert_5mm")]
    assert len(inserts) == 3
    for obj in inserts:
        lesion, _ = nearest_lesion(result, obj["centre_lps_mm"])
        assert lesion.mass_mg == pytest.approx(obj["true_mass_mg"], rel=0.15), obj["id"]
        assert lesion.volume_mm3 > obj["true_volume_mm3"]  # blooming, as on real scanners


def expected_pairs(result: ScanResult, truth: dict):
    """(truth object, nearest lesion) for every object a scorer must find."""
    return [(o, nearest_lesion(result, o["centre_lps_mm"])[0])
            for o in truth["objects"] if o["should_detect"]]


def test_skin_nodules_are_cutaneous_and_the_rest_is_not(result: ScanResult,
                                                        scan_truth: dict) -> None:
    for obj, lesion in expected_pairs(result, scan_truth):
        assert lesion.type == obj["expected_type"], obj["id"]


def test_anatomy_map_types_plaques_vascular_in_the_aorta(typed: ScanResult,
                                                         scan_truth: dict) -> None:
    for obj, lesion in expected_pairs(typed, scan_truth):
        assert lesion.type == obj["expected_type_with_anatomy"], obj["id"]
        assert lesion.structure == ("aorta" if obj["kind"] == "plaque" else None), obj["id"]
        assert (lesion.region in ("thoracic_aorta", "abdominal_aorta")) == \
            (obj["kind"] == "plaque"), obj["id"]
    vascular = sum(x.agatston for x in typed.lesions if x.type == "vascular")
    assert typed.by_type["vascular"].agatston == pytest.approx(vascular, abs=0.05)
    assert set(typed.by_type) == {"vascular", "periarticular", "cutaneous", "visceral",
                                  "soft_tissue"}


def test_totals_are_sums_and_contract_fields(result: ScanResult) -> None:
    assert result.convention == "agatston-1990"
    assert result.threshold_hu == 130 and result.kvp == 120
    assert result.slice_increment_mm == 3.0 and result.pixel_spacing_mm == (0.7, 0.7)
    assert result.calibration_mg_per_cm3_per_hu == 0.78
    assert "0.7-0.8" in result.calibration_source
    assert result.agatston == pytest.approx(sum(x.agatston for x in result.lesions), abs=0.05)
    assert result.mass_mg == pytest.approx(sum(x.mass_mg for x in result.lesions), abs=0.01)
    assert [x.id for x in result.lesions] == list(range(1, len(result.lesions) + 1))
    assert result.warnings == []
    document = json.loads(result.model_dump_json())
    for key in ("convention", "threshold_hu", "kvp", "slice_increment_mm", "pixel_spacing_mm",
                "calibration_mg_per_cm3_per_hu", "agatston", "volume_mm3", "mass_mg",
                "lesions", "by_type", "warnings", "outputs"):
        assert key in document


def test_labels_match_lesions_and_agatston_matches_reference(scan_phantom: Path) -> None:
    volume = load_ct(scan_phantom / "dicom")
    analysis = analyse(volume)
    spacing = (volume.slice_increment_mm, *volume.pixel_spacing_mm)
    body = body_mask(volume.hu)
    candidates = (volume.hu >= 130) & body & ~bone_mask(volume.hu, threshold_hu=130,
                                                        spacing_mm=spacing, body=body)
    # Reference: slice loop, 8-connected, >= 1 mm², factor from peak, x increment / 3.
    pixel_area = volume.pixel_spacing_mm[0] * volume.pixel_spacing_mm[1]
    reference = 0.0
    for k in range(volume.hu.shape[0]):
        labels, n = ndimage.label(candidates[k], structure=np.ones((3, 3)))
        for i in range(1, n + 1):
            area = (labels == i).sum() * pixel_area
            if area >= 1.0:
                peak = volume.hu[k][labels == i].max()
                reference += area * (1 + (peak >= 200) + (peak >= 300) + (peak >= 400))
    assert analysis.result.agatston == pytest.approx(reference, abs=0.05 * len(
        analysis.result.lesions))
    ids = np.unique(analysis.labels)
    assert ids.tolist() == list(range(len(analysis.result.lesions) + 1))
    for lesion in analysis.result.lesions:
        voxels = (analysis.labels == lesion.id).sum()
        assert voxels * volume.voxel_volume_mm3 == pytest.approx(lesion.volume_mm3, abs=0.01)


def test_conventions_side_by_side(scan_phantom: Path) -> None:
    both = quantify(scan_phantom / "dicom", convention="agatston-1990,ai-cac")
    rows = both.conventions
    assert [r["convention"] for r in rows] == ["agatston-1990", "ai-cac"]
    assert rows[0]["agatston"] == pytest.approx(both.agatston, abs=0.05)
    assert rows[1]["agatston"] > rows[0]["agatston"]  # whole 3D lesion weighted by its peak


def test_outputs_written_and_listed(scan_phantom: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = quantify(scan_phantom / "dicom", out_dir=out)
    assert Path(result.outputs["csv"]).name == "lesions.csv"
    seg = hd.seg.segread(result.outputs["seg"])
    assert len(seg.SegmentSequence) >= 1
    assert Path(result.outputs["sr"]).exists()
    assert all(Path(p).exists() for p in result.outputs["overlay_png"])
    saved = json.loads((out / "scan.json").read_text())
    assert saved["agatston"] == result.agatston
    assert not list(out.glob(".*tmp"))  # no temporary leftovers
