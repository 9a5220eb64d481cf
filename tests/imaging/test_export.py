"""DICOM SEG / SR round trips through highdicom, the lesion CSV and atomic writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes
from scipy import ndimage

from ectocalc.imaging import CTVolume, write_lesion_csv, write_seg, write_sr
from ectocalc.imaging.writers._common import segment_types
from ectocalc.imaging.writers.csv import CSV_COLUMNS
from ectocalc.imaging.writers.seg import segment_label_map
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import Lesion, ScanResult

# Phantom object → (lesion id, type, Agatston given by hand).
CHOSEN = {"insert_5mm_800": (1, "soft_tissue", 101.25), "plaque_3": (2, "vascular", 250.5),
          "skin_nodule_2": (3, "cutaneous", 40.0), "insert_3mm_400": (4, "soft_tissue", 12.0)}


def load_volume(directory: Path) -> CTVolume:
    """A CTVolume from the phantom series, read with plain pydicom (independent of the loader)."""
    datasets = sorted((pydicom.dcmread(p) for p in directory.glob("*.dcm")),
                      key=lambda ds: float(ds.ImagePositionPatient[2]))
    hu = np.stack([pydicom.pixels.apply_rescale(ds.pixel_array, ds) for ds in datasets])
    first = list(map(float, datasets[0].ImagePositionPatient))
    spacing = float(datasets[0].PixelSpacing[0])
    increment = float(datasets[1].ImagePositionPatient[2]) - first[2]
    affine = np.array([[spacing, 0, 0, first[0]], [0, spacing, 0, first[1]],
                       [0, 0, increment, first[2]], [0, 0, 0, 1]])
    return CTVolume(hu=hu.astype(np.float32), affine=affine,
                    pixel_spacing_mm=(spacing, spacing), slice_increment_mm=increment,
                    kvp=float(datasets[0].KVP), source_datasets=datasets)


@pytest.fixture(scope="module")
def case(scan_phantom: Path) -> tuple[CTVolume, np.ndarray, ScanResult]:
    truth = {o["id"]: o for o in json.loads((scan_phantom / "truth.json").read_text())["objects"]}
    volume = load_volume(scan_phantom / "dicom")
    components, _ = ndimage.label(volume.hu >= 130)
    labels = np.zeros(volume.hu.shape, dtype=np.int32)
    lesions = []
    for name, (lesion_id, kind, agatston) in CHOSEN.items():
        lps = np.array([*truth[name]["centre_lps_mm"], 1.0])
        col, row, sl = np.rint(np.linalg.solve(volume.affine, lps)[:3]).astype(int)
        mask = components == components[sl, row, col]
        labels[mask] = lesion_id
        lesions.append(Lesion(
            id=lesion_id, centroid_mm=tuple(truth[name]["centre_lps_mm"]),
            volume_mm3=float(mask.sum() * volume.voxel_volume_mm3), mass_mg=lesion_id * 1.5,
            peak_hu=float(volume.hu[mask].max()), agatston=agatston, type=kind,
            region="aorta" if kind == "vascular" else None,
            slices=sorted(set(np.nonzero(mask)[0].tolist())), max_diameter_mm=5.25))
    result = ScanResult(
        convention="agatston-1990", threshold_hu=130, kvp=120, slice_increment_mm=3.0,
        pixel_spacing_mm=(0.7, 0.7), calibration_mg_per_cm3_per_hu=0.78,
        agatston=sum(x.agatston for x in lesions), volume_mm3=sum(x.volume_mm3 for x in lesions),
        mass_mg=sum(x.mass_mg for x in lesions), lesions=lesions)
    return volume, labels, result


@pytest.fixture(scope="module")
def written(case: tuple, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    volume, labels, result = case
    out = tmp_path_factory.mktemp("out")
    seg_path = write_seg(volume, labels, result, out / "seg.dcm")
    return seg_path, write_sr(volume, result, seg_path, out / "sr.dcm")


def test_segments_are_types_in_fixed_order(case: tuple) -> None:
    _, labels, result = case
    assert segment_types(result) == ["vascular", "cutaneous", "soft_tissue"]
    seg = segment_label_map(labels, result)
    assert set(np.unique(seg)) == {0, 1, 2, 3}
    assert (seg == 3).sum() == np.isin(labels, [1, 4]).sum()


def test_seg_round_trip(case: tuple, written: tuple[Path, Path]) -> None:
    volume, labels, _ = case
    seg = hd.seg.segread(written[0])
    series = volume.source_datasets
    assert seg.number_of_segments == 3
    assert [seg.get_segment_description(n).SegmentLabel for n in (1, 2, 3)] == [
        "vascular calcification", "cutaneous calcification", "soft_tissue calcification"]
    assert seg.get_segment_description(1).SegmentedPropertyTypeCodeSequence[0].CodeValue == \
        "237897009"
    algorithm = seg.get_segment_description(1).SegmentationAlgorithmIdentificationSequence[0]
    assert algorithm.AlgorithmName == "ectocalc"
    assert seg.StudyInstanceUID == series[0].StudyInstanceUID
    assert seg.FrameOfReferenceUID == series[0].FrameOfReferenceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == series[0].SeriesInstanceUID
    pixels = seg.get_pixels_by_source_instance(
        [ds.SOPInstanceUID for ds in series], segment_numbers=[1, 2, 3],
        assert_missing_frames_are_empty=True)
    counts = pixels.reshape(-1, 3).sum(axis=0).tolist()
    assert counts == [(labels == 2).sum(), (labels == 3).sum(), np.isin(labels, [1, 4]).sum()]
    np.testing.assert_array_equal(pixels[..., 1].astype(bool), labels == 3)


def _value(group: object, code: object) -> hd.sr.Measurement:
    (measurement,) = group.get_measurements(name=code)
    return measurement


def test_sr_round_trip(case: tuple, written: tuple[Path, Path]) -> None:
    volume, _, result = case
    seg = hd.seg.segread(written[0])
    sr = hd.sr.srread(written[1])
    assert isinstance(sr, hd.sr.Comprehensive3DSR)
    (totals,) = sr.content.get_image_measurement_groups()
    score = _value(totals, codes.DCM.CalciumScore)
    assert score.value == pytest.approx(403.75) == pytest.approx(result.agatston)
    assert score.method == codes.DCM.AgatstonScoringMethod
    assert _value(totals, codes.DCM.CalciumVolume).value == pytest.approx(result.volume_mm3)
    assert _value(totals, codes.DCM.CalciumVolume).unit == codes.UCUM.CubicMillimeter
    assert _value(totals, codes.DCM.CalciumMass).value == pytest.approx(15.0)
    assert _value(totals, codes.DCM.CalciumMass).unit.value == "mg"
    threshold = _value(totals, codes.DCM.AgatstonScoreThreshold)
    assert (threshold.value, threshold.unit) == (130, codes.UCUM.HounsfieldUnit)
    assert _value(totals, codes.DCM.CalciumScoringCalibration).value == pytest.approx(0.78)

    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert len(groups) == 3
    by_segment = {g.referenced_segment.referenced_segment_numbers[0]: g for g in groups}
    assert set(by_segment) == {1, 2, 3}
    for group in groups:
        reference = group.referenced_segment
        assert reference.referenced_sop_instance_uid == seg.SOPInstanceUID
        assert reference.source_series_for_segmentation.value == \
            volume.source_datasets[0].SeriesInstanceUID
    assert _value(by_segment[1], codes.DCM.CalciumScore).value == pytest.approx(250.5)
    assert _value(by_segment[3], codes.DCM.CalciumScore).value == pytest.approx(113.25)
    assert _value(by_segment[3], codes.DCM.CalciumMass).value == pytest.approx(1.5 + 6.0)

    evidence = {item.SeriesInstanceUID
                for study in sr.CurrentRequestedProcedureEvidenceSequence
                for item in study.ReferencedSeriesSequence}
    assert evidence == {volume.source_datasets[0].SeriesInstanceUID, seg.SeriesInstanceUID}
    assert sr.StudyInstanceUID == volume.source_datasets[0].StudyInstanceUID


def test_csv_has_one_exact_row_per_lesion(case: tuple, tmp_path: Path) -> None:
    _, _, result = case
    path = write_lesion_csv(result, tmp_path / "lesions.csv")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(result.lesions)
    for row, lesion in zip(rows[1:], result.lesions, strict=True):
        record = dict(zip(CSV_COLUMNS, row, strict=True))
        assert int(record["id"]) == lesion.id and record["type"] == lesion.type
        assert record["region"] == (lesion.region or "") and record["subtype"] == ""
        assert [float(record[f"centroid_{a}_mm"]) for a in "xyz"] == list(lesion.centroid_mm)
        assert [int(s) - 1 for s in record["slices_1based"].split(";")] == lesion.slices
        for key in ("volume_mm3", "mass_mg", "peak_hu", "agatston", "max_diameter_mm"):
            assert float(record[key]) == getattr(lesion, key)


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "sr.dcm"

    def fail(tmp: Path) -> None:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert list(tmp_path.iterdir()) == []


def test_seg_needs_source_dicom(case: tuple, tmp_path: Path) -> None:
    volume, labels, result = case
    nifti_like = CTVolume(hu=volume.hu, affine=volume.affine,
                          pixel_spacing_mm=volume.pixel_spacing_mm,
                          slice_increment_mm=volume.slice_increment_mm)
    with pytest.raises(ValueError, match="source DICOM"):
        write_seg(nifti_like, labels, result, tmp_path / "seg.dcm")
    assert not (tmp_path / "seg.dcm").exists()


def test_scan_without_lesions_still_reports_a_zero_score(run_cli, tmp_path: Path) -> None:
    from ct_builders import CT5N  # pydicom's real 5-slice CT: nothing above 130 HU in the body

    result = run_cli("scan", CT5N, "--out", tmp_path, "--format", "json")
    assert result.code == 0, result.stderr
    outputs = json.loads(result.stdout)["outputs"]
    assert "seg" not in outputs  # a SEG needs a segment
    sr = hd.sr.srread(outputs["sr"])
    assert sr.content.get_volumetric_roi_measurement_groups() == []
    (totals,) = sr.content.get_image_measurement_groups()
    assert _value(totals, codes.DCM.CalciumScore).value == 0
    assert _value(totals, codes.DCM.CalciumVolume).value == 0


@pytest.mark.parametrize(("written_as", "dicom_da"), [("1955-04-12", "19550412"),
                                                      ("1955.04.12", "19550412")])
def test_a_birth_date_written_with_dashes_is_written_as_dicom_da(
        case: tuple, tmp_path: Path, written_as: str, dicom_da: str) -> None:
    """Some systems write PatientBirthDate as ISO 8601 (``1955-04-12``), which DICOM DA is not:
    the SEG and SR carry it as ``YYYYMMDD``; the source images are left as they were."""
    import copy

    volume, labels, result = case
    series = copy.deepcopy(volume.source_datasets)  # every slice carries the birth date
    for ds in series:
        ds.PatientBirthDate = written_as
    dashed = CTVolume(hu=volume.hu, affine=volume.affine,
                      pixel_spacing_mm=volume.pixel_spacing_mm,
                      slice_increment_mm=volume.slice_increment_mm,
                      kvp=volume.kvp, source_datasets=series)
    seg = write_seg(dashed, labels, result, tmp_path / "seg.dcm")
    sr = write_sr(dashed, result, seg, tmp_path / "sr.dcm")
    assert pydicom.dcmread(seg).PatientBirthDate == dicom_da
    assert pydicom.dcmread(sr).PatientBirthDate == dicom_da
    assert {ds.PatientBirthDate for ds in series} == {written_as}


def test_a_birth_date_that_is_no_date_is_refused_by_name(case: tuple, tmp_path: Path) -> None:
    import copy

    volume, labels, result = case
    series = copy.deepcopy(volume.source_datasets)
    for ds in series:
        ds.PatientBirthDate = "12/04/1955"
    bad = CTVolume(hu=volume.hu, affine=volume.affine, pixel_spacing_mm=volume.pixel_spacing_mm,
                   slice_increment_mm=volume.slice_increment_mm, kvp=volume.kvp,
                   source_datasets=series)
    with pytest.raises(ValueError, match="PatientBirthDate of the source CT is not a date"):
        write_seg(bad, labels, result, tmp_path / "seg.dcm")
