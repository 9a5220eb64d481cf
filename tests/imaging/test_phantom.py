"""The synthetic CT phantom: analytic truth, DICOM conformance, HU model, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from ectocalc.cli import app
from ectocalc.datasets import (
    C_HA_MG_PER_CM3_PER_HU,
    CT_IMAGE_STORAGE,
    PATIENT_NAME,
    RESIN_HU,
    TISSUE_HU,
    ha_hu,
    make_phantom,
    write_phantom,
)


@pytest.fixture(scope="module")
def phantom_dir(scan_phantom: Path) -> Path:
    """The default phantom, written once per session (tests/imaging/conftest.py)."""
    return scan_phantom


@pytest.fixture(scope="module")
def truth(phantom_dir: Path) -> dict:
    return json.loads((phantom_dir / "truth.json").read_text())


@pytest.fixture(scope="module")
def series(phantom_dir: Path) -> list[pydicom.Dataset]:
    datasets = [pydicom.dcmread(p) for p in (phantom_dir / "dicom").glob("*.dcm")]
    return sorted(datasets, key=lambda ds: float(ds.ImagePositionPatient[2]))


@pytest.fixture(scope="module")
def hu(series: list[pydicom.Dataset]) -> np.ndarray:
    return np.stack([pydicom.pixels.apply_rescale(ds.pixel_array, ds) for ds in series])


def objects_by_id(truth: dict) -> dict[str, dict]:
    return {o["id"]: o for o in truth["objects"]}


def voxel_of(series: list[pydicom.Dataset], lps: list[float]) -> tuple[int, int, int]:
    """(slice, row, col) of an LPS point, for the phantom's identity orientation."""
    x0, y0, _ = map(float, series[0].ImagePositionPatient)
    zs = np.array([float(ds.ImagePositionPatient[2]) for ds in series])
    spacing = float(series[0].PixelSpacing[0])
    return (int(np.argmin(np.abs(zs - lps[2]))), round((lps[1] - y0) / spacing),
            round((lps[0] - x0) / spacing))


# QRM insert truth from references/imaging.md: (volume mm3, masses mg at 200/400/800 mg/cm3).
QRM = {5: (98.2, (19.6, 39.3, 78.5)), 3: (21.2, (4.2, 8.5, 17.0)), 1: (0.8, (0.2, 0.3, 0.6))}


@pytest.mark.parametrize("diameter", [5, 3, 1])
def test_insert_truth_matches_published_qrm_values(truth: dict, diameter: int) -> None:
    objects = objects_by_id(truth)
    volume, masses = QRM[diameter]
    for density, mass in zip((200, 400, 800), masses, strict=True):
        o = objects[f"insert_{diameter}mm_{density}"]
        assert o["true_volume_mm3"] == pytest.approx(math.pi * (diameter / 2) ** 2 * diameter)
        assert round(o["true_volume_mm3"], 1) == volume
        assert round(o["true_mass_mg"], 1) == mass
        assert o["diameter_mm"] == o["length_mm"] == diameter
        assert o["hu"] == pytest.approx(RESIN_HU + density / 0.78)
        assert o["should_detect"] is (True if diameter >= 3 else None)


def test_truth_states_model_and_expectations(truth: dict) -> None:
    assert truth["image_model"]["c_ha_mg_per_cm3_per_hu"] == C_HA_MG_PER_CM3_PER_HU == 0.78
    assert truth["image_model"]["psf_fwhm_mm"] > 0
    kinds = {o["kind"] for o in truth["objects"]}
    assert kinds == {"insert", "calibration_rod", "skin_nodule", "plaque", "vertebra", "rib",
                     "table"}
    for o in truth["objects"]:
        if o["kind"] in ("vertebra", "rib", "table"):
            assert o["should_detect"] is False and o["expected_type"] is None
        if o["kind"] == "skin_nodule":
            assert (o["expected_type"], o["should_detect"]) == ("cutaneous", True)
            r = o["diameter_mm"] / 2
            assert o["true_mass_mg"] == pytest.approx(o["density_mg_cm3"] * 4 / 3 * math.pi
                                                      * r**3 / 1000)
        if o["kind"] == "plaque":
            assert (o["expected_type"], o["expected_type_with_anatomy"],
                    o["expected_region"]) == ("soft_tissue", "vascular", "aorta")
    assert sum(o["kind"] == "skin_nodule" for o in truth["objects"]) == 3
    assert sum(o["kind"] == "plaque" for o in truth["objects"]) == 3
    assert truth["omitted"] == []


def test_skin_nodules_lie_2_to_3_mm_under_the_skin(truth: dict) -> None:
    a, b = 82.0, 62.0  # BODY_SEMI_AXES
    t = np.linspace(0, 2 * np.pi, 20000)
    skin = np.column_stack([a * np.cos(t), b * np.sin(t)])
    for o in truth["objects"]:
        if o["kind"] == "skin_nodule":
            depth = np.hypot(*(skin - o["centre_lps_mm"][:2]).T).min()
            assert 2.4 <= depth <= 3.1


def test_series_is_valid_ct(series: list[pydicom.Dataset], truth: dict) -> None:
    assert len(series) == 60
    assert {ds.SOPClassUID for ds in series} == {CT_IMAGE_STORAGE}
    assert {ds.SeriesInstanceUID for ds in series} == {truth["series"]["series_instance_uid"]}
    assert {ds.StudyInstanceUID for ds in series} == {truth["series"]["study_instance_uid"]}
    assert len({ds.SOPInstanceUID for ds in series}) == 60
    assert {float(ds.KVP) for ds in series} == {120.0}
    assert {str(ds.PatientName) for ds in series} == {PATIENT_NAME}
    assert [float(v) for v in series[0].PixelSpacing] == [0.7, 0.7]
    assert float(series[0].SliceThickness) == 3.0
    assert (series[0].Rows, series[0].Columns) == (256, 256)
    steps = np.diff([float(ds.ImagePositionPatient[2]) for ds in series])
    np.testing.assert_allclose(steps, 3.0)
    assert all(list(map(float, ds.ImageOrientationPatient)) == [1, 0, 0, 0, 1, 0]
               for ds in series)
    # Instance numbers run head to foot, so sorting by them would reverse the volume.
    assert series[0].InstanceNumber == 60 and series[-1].InstanceNumber == 1


def test_hu_model_at_insert_centre(series: list[pydicom.Dataset], hu: np.ndarray,
                                   truth: dict) -> None:
    o = objects_by_id(truth)["insert_5mm_800"]
    k, r, c = voxel_of(series, o["centre_lps_mm"])
    centre = hu[k, r - 1:r + 2, c - 1:c + 2]
    assert o["hu"] == pytest.approx(ha_hu(800, RESIN_HU)) == pytest.approx(1075.6, abs=0.1)
    # 9 voxels of 15 HU noise: standard error 5 HU; the PSF costs < 1 HU this far inside.
    assert centre.mean() == pytest.approx(o["hu"], abs=20)


def test_background_and_noise(series: list[pydicom.Dataset], hu: np.ndarray) -> None:
    k, r, c = voxel_of(series, [40.0, -30.0, 0.0])  # soft tissue, left anterior
    patch = hu[k, r - 5:r + 5, c - 5:c + 5]
    assert patch.mean() == pytest.approx(TISSUE_HU, abs=5)
    assert patch.std() == pytest.approx(15.0, rel=0.15)


def test_table_is_dense_and_outside_the_body(series: list[pydicom.Dataset], hu: np.ndarray,
                                             truth: dict) -> None:
    table = objects_by_id(truth)["table"]
    k, r, c = voxel_of(series, table["centre_lps_mm"])
    assert hu[k, r, c] > 300
    assert table["centre_lps_mm"][1] > 62.0  # below the body's posterior surface
    gap = voxel_of(series, [0.0, 65.0, 0.0])
    assert hu[gap] < -800  # air between body and table


def test_bone_is_dense(series: list[pydicom.Dataset], hu: np.ndarray, truth: dict) -> None:
    vertebra = objects_by_id(truth)["vertebra_L1"]
    k, r, c = voxel_of(series, vertebra["centre_lps_mm"])
    assert 200 < hu[k, r - 2:r + 3, c - 2:c + 3].mean() < 320  # cancellous core
    assert hu[k, r, c - round(15.3 / 0.7)] > 400  # cortical shell, lateral edge


def test_anatomy_label_map_matches_image(phantom_dir: Path, hu: np.ndarray, truth: dict,
                                         series: list[pydicom.Dataset]) -> None:
    import nibabel as nib

    names = json.loads((phantom_dir / "anatomy_names.json").read_text())
    assert names["1"] == "aorta"
    assert {"vertebrae_L1", "rib_left_10", "rib_right_11"} <= set(names.values())
    image = nib.load(phantom_dir / "anatomy.nii.gz")
    labels = np.asarray(image.dataobj).transpose(2, 1, 0)
    assert labels.shape == hu.shape
    # RAS affine = diag(-1, -1, 1) @ LPS affine; voxel (0, 0, 0) is the first DICOM position.
    np.testing.assert_allclose(image.affine[:3, 3] * [-1, -1, 1],
                               list(map(float, series[0].ImagePositionPatient)))
    for o in truth["objects"]:
        if o["kind"] == "plaque":
            assert labels[voxel_of(series, o["centre_lps_mm"])] == 1
    aorta_hu = hu[labels == 1]
    assert 20 < np.median(aorta_hu) < 70


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    small = {"rows": 64, "columns": 64, "slices": 6, "pixel_spacing_mm": 3.0}
    first, again = make_phantom(seed=7, **small), make_phantom(seed=7, **small)
    np.testing.assert_array_equal(first.hu, again.hu)
    assert not np.array_equal(first.hu, make_phantom(seed=8, **small).hu)
    a = write_phantom(tmp_path / "a", seed=7, anatomy=False, **small).parent
    b = write_phantom(tmp_path / "b", seed=7, anatomy=False, **small).parent
    assert (a / "truth.json").read_bytes() == (b / "truth.json").read_bytes()
    for path in (a / "dicom").iterdir():
        assert path.read_bytes() == (b / "dicom" / path.name).read_bytes()


@pytest.mark.parametrize("increment", [1.0, 0.5])
def test_thin_slices_keep_objects_inside_the_scan(increment: float) -> None:
    p = make_phantom(slices=30, slice_increment_mm=increment, rows=128, columns=128,
                     pixel_spacing_mm=1.4)
    half = 15 * increment
    for o in p.objects:
        if o.kind != "table":
            assert abs(o.centre_lps_mm[2]) + o.length_mm / 2 <= half + 1e-6, o.id
    assert {o.id for o in p.objects if o.kind == "insert"} | set(p.omitted) >= {
        f"insert_{d}mm_{c}" for d in (1, 3, 5) for c in (200, 400, 800)}


@pytest.mark.parametrize("slices", [1, 2, 3, 4, 5])
def test_short_scans_place_or_omit_every_object(slices: int) -> None:
    p = make_phantom(slices=slices, rows=64, columns=64, pixel_spacing_mm=3.0)
    half = slices * 3.0 / 2
    for o in p.objects:
        assert abs(o.centre_lps_mm[2]) + o.length_mm / 2 <= half + 1e-6, o.id
    placed = {o.id for o in p.objects if o.kind not in ("vertebra", "table")}
    assert not placed & set(p.omitted)
    assert len(placed | set(p.omitted)) == 9 + 2 + 3 + 3 + 4  # inserts, rods, nodules,
    # plaques, ribs; an object is left out only when longer than the scan
    lengths = {"calibration_rod_0": 10.0, "rib_left_10": 10.0, "plaque_3": 12.0}
    for name, length in lengths.items():
        assert (name in p.omitted) == (length > slices * 3.0)


def test_cli_writes_series_and_truth(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["phantom", str(tmp_path / "p"), "--seed", "2",
                                      "--kvp", "100", "--slice-increment", "6"])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "p" / "truth.json") in result.output
    files = sorted((tmp_path / "p" / "dicom").glob("*.dcm"))
    assert len(files) == 30
    ds = pydicom.dcmread(files[0])
    assert float(ds.KVP) == 100.0 and float(ds.SliceThickness) == 6.0
