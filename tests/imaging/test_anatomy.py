"""Typing lesions by anatomy label map or skin distance, and the link to case findings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from ct_builders import write_series
from pydicom.sr.codedict import codes

from ectocalc.imaging import (
    analyse,
    classify_name,
    find_joint,
    findings_from_scan,
    load_ct,
    load_label_map,
    quantify,
    type_lesion,
)

SPACING = (3.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("aorta", ("vascular", None, False)),
        ("iliac_artery_left", ("vascular", None, False)),
        ("common_carotid_artery_right", ("vascular", None, False)),
        ("pulmonary_artery", ("vascular", None, False)),
        ("aortic_valve", ("vascular", "valvular", False)),
        ("heart", ("vascular", "cardiac", False)),
        ("kidney_left", ("visceral", None, False)),
        ("lung_lower_lobe_right", ("visceral", None, False)),
        ("brain", ("visceral", None, False)),
        ("vertebrae_L1", ("soft_tissue", None, True)),
        ("rib_left_3", ("soft_tissue", None, True)),
        ("femur_right", ("soft_tissue", None, True)),
        ("gluteus_maximus_left", ("soft_tissue", None, False)),
    ],
)
def test_class_names(name: str, expected: tuple) -> None:
    typing = classify_name(name)
    assert (typing.type, typing.subtype, typing.bone) == expected
    assert typing.structure == name


def test_joints_need_both_bones_on_the_same_side() -> None:
    assert find_joint({"femur_left": 3.0, "hip_left": 12.0}) == "left hip"
    assert find_joint({"femur_left": 3.0, "hip_left": 30.0}) is None
    assert find_joint({"vertebrae_L1": 2.0, "vertebrae_L2": 2.0}) is None
    assert find_joint({"sacrum": 5.0, "hip_right": 5.0}) == "right sacroiliac"


def test_plaque_just_outside_the_aorta_label_is_vascular() -> None:
    lesion = np.zeros((3, 30, 30), bool)
    lesion[1, 10, 15] = True           # 2 mm outside the labelled aorta
    anatomy = np.zeros(lesion.shape, np.int32)
    anatomy[:, 12:20, 12:20] = 1
    typing = type_lesion(lesion, skin_distance_mm=20.0, spacing_mm=SPACING, anatomy=anatomy,
                         names={1: "aorta"})
    assert (typing.type, typing.structure) == ("vascular", "aorta")
    lesion[:] = False
    lesion[1, 2, 15] = True            # 10 mm away: not the aorta's
    typing = type_lesion(lesion, skin_distance_mm=20.0, spacing_mm=SPACING, anatomy=anatomy,
                         names={1: "aorta"})
    assert (typing.type, typing.structure) == ("soft_tissue", None)


def test_skin_rule_boundary_at_5_mm() -> None:
    lesion = np.zeros((1, 5, 5), bool)
    lesion[0, 2, 2] = True
    assert type_lesion(lesion, skin_distance_mm=5.0, spacing_mm=SPACING).type == "cutaneous"
    assert type_lesion(lesion, skin_distance_mm=5.1, spacing_mm=SPACING).type == "soft_tissue"


def body_with_lesions() -> np.ndarray:
    hu = np.full((6, 80, 80), -1000.0)
    _, y, x = np.mgrid[:6, :80, :80]
    hu[np.hypot(y - 40, x - 40) <= 35] = 40.0
    hu[2:4, 40:43, 40:43] = 600.0       # deep: periarticular with the map
    hu[2:4, 7:10, 39:42] = 600.0        # 2 mm under the skin
    return hu


def test_pipeline_types_periarticular_and_bone_classes(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "ct", body_with_lesions(), pixel_mm=1.0)
    volume = load_ct(folder)
    anatomy = np.zeros(volume.hu.shape, np.int32)
    anatomy[:, 44:60, 30:50] = 1        # humerus below the deep lesion
    anatomy[:, 25:37, 30:50] = 2        # scapula above it
    names = {1: "humerus_left", 2: "scapula_left"}
    typed = analyse(volume, anatomy=anatomy, names=names).result
    kinds = sorted((x.type, x.structure, x.region) for x in typed.lesions)
    assert kinds == [("cutaneous", None, "non_vascular"),
                     ("periarticular", "left shoulder", "non_vascular")]
    # A lesion inside a bone class is bone: removed before scoring.
    anatomy[:, 38:45, 38:45] = 1
    inside_bone = analyse(volume, anatomy=anatomy, names=names).result
    assert [x.type for x in inside_bone.lesions] == ["cutaneous"]


def test_dicom_seg_label_map(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "ct", body_with_lesions(), pixel_mm=1.0)
    volume = load_ct(folder)
    mask = np.zeros(volume.hu.shape, bool)
    mask[:, 35:48, 35:48] = True
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="kidney_left",
        segmented_property_category=codes.SCT.Organ,
        segmented_property_type=codes.SCT.Kidney,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    sources = sorted((pydicom.dcmread(p) for p in folder.iterdir()),
                     key=lambda ds: float(ds.ImagePositionPatient[2]))
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment], series_instance_uid=hd.UID(), series_number=5,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="test",
        manufacturer_model_name="test", software_versions="0", device_serial_number="0")
    seg.save_as(tmp_path / "map.dcm")
    labels, names = load_label_map(tmp_path / "map.dcm", volume)
    assert names == {1: "kidney_left"}
    assert labels.sum() == mask.sum()
    result = quantify(folder, anatomy=tmp_path / "map.dcm")
    assert sorted(x.type for x in result.lesions) == ["cutaneous", "visceral"]


def test_findings_from_scan(tmp_path: Path) -> None:
    result = quantify(write_series(tmp_path / "ct", body_with_lesions(), pixel_mm=1.0))
    findings = findings_from_scan(result, scan_date=date(2026, 10, 2))
    assert len(findings) == len(result.lesions) == 2
    for finding, lesion in zip(findings, result.lesions, strict=True):
        assert finding.origin == "ct" and finding.modality == "ct"
        assert finding.type == lesion.type and finding.agatston == lesion.agatston
        assert finding.size_mm == lesion.max_diameter_mm and finding.mass_mg == lesion.mass_mg
        assert finding.site.endswith("CT 2026-10-02")


def test_coronary_classes_give_by_artery_and_cacdrs_vessel_count(tmp_path: Path) -> None:
    from ectocalc.knowledge import load_knowledge
    from ectocalc.scales import scan_scales

    hu = body_with_lesions()
    hu[2:4, 20:23, 55:58] = 600.0       # a third lesion, deep
    volume = load_ct(write_series(tmp_path / "ct", hu, pixel_mm=1.0))
    anatomy = np.zeros(volume.hu.shape, np.int32)
    anatomy[:, 15:65, 15:65] = 1        # heart around both deep lesions
    anatomy[:, 38:45, 38:45] = 2        # the LAD holds the central lesion
    anatomy[:, 18:25, 53:60] = 3        # the RCA holds the other
    names = {1: "heart", 2: "coronary_artery_lad", 3: "coronary_artery_rca"}
    result = analyse(volume, anatomy=anatomy, names=names).result
    assert result.anatomy.heart_in_field and result.anatomy.source == "label map"
    coronary = sorted((x.artery, x.structure) for x in result.lesions if x.region == "coronary")
    assert coronary == [("lad", "coronary_artery_lad"), ("rca", "coronary_artery_rca")]
    by_artery = result.by_region["coronary"].by_artery
    lad = next(x.agatston for x in result.lesions if x.artery == "lad")
    assert by_artery == {"lm": 0.0, "lad": pytest.approx(lad), "lcx": 0.0,
                         "rca": pytest.approx(result.by_region["coronary"].agatston - lad)}
    scales = scan_scales(result, knowledge=load_knowledge())
    assert scales is not None and scales.cac_drs.label.endswith("/N2")
