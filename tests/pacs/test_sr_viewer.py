"""The SR a viewer shows (issue 21 item 4): one planar ROI group per lesion, its outline on
its peak slice, read back with highdicom (no server needed)."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest
from matplotlib.path import Path as Outline
from pydicom import dcmread
from pydicom.sr.codedict import codes

from ectocalc.datasets import write_phantom
from ectocalc.imaging import load_ct
from ectocalc.service import quantify_scan


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sr_viewer")
    write_phantom(out, seed=5)
    result = quantify_scan(out / "dicom", anatomy=out / "anatomy.nii.gz",
                           anatomy_names=out / "anatomy_names.json", out_dir=out / "scan")
    sr = hd.sr.Comprehensive3DSR.from_dataset(dcmread(out / "scan" / "sr.dcm"))
    return result, sr, load_ct(out / "dicom")


def test_every_lesion_has_an_outline_on_its_peak_slice(typed) -> None:
    result, sr, volume = typed
    groups = sr.content.get_planar_roi_measurement_groups()
    assert len(groups) == len(result.lesions)
    slices = {ds.SOPInstanceUID: k for k, ds in enumerate(volume.source_datasets)}
    by_id = {x.id: x for x in result.lesions}
    for group in groups:
        lesion = by_id[int(group.tracking_identifier.split(",")[0].removeprefix("lesion "))]
        region = group.roi
        assert region.GraphicType == "POLYLINE"
        points = np.asarray(region.value)
        assert points[0].tolist() == points[-1].tolist()  # closed
        k = slices[region.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID]
        assert k in lesion.slices
        # The pixels inside the outline hold the lesion's peak HU: this is its peak slice.
        rows, columns = np.mgrid[0:volume.hu.shape[1], 0:volume.hu.shape[2]]
        centres = np.column_stack([columns.ravel() + 0.5, rows.ravel() + 0.5])
        inside = Outline(points).contains_points(centres).reshape(rows.shape)
        assert volume.hu[k][inside].max() == pytest.approx(lesion.peak_hu, abs=0.5)
        (score,) = group.get_measurements(name=codes.DCM.CalciumScore)
        assert score.value == pytest.approx(lesion.agatston, abs=0.01)
        assert score.method == codes.DCM.AgatstonScoringMethod


def test_aortic_plaques_have_the_abdominal_aorta_as_finding_site(typed) -> None:
    result, sr, _ = typed
    aortic = [x for x in result.lesions if x.region == "abdominal_aorta"]
    assert aortic  # the phantom's plaques lie in its aorta label, below the diaphragm
    groups = sr.content.get_planar_roi_measurement_groups()
    abdominal_aorta = ("7832008", "SCT")  # SNOMED CT "Abdominal aorta"
    sited = [g for g in groups if any((s.value.value, s.value.scheme_designator)
                                      == abdominal_aorta for s in g.finding_sites)]
    assert len(sited) == len(aortic)
    for group in sited:
        assert group.finding_type == codes.SCT.VascularCalcification


def test_whole_scan_score_uses_the_calcium_scoring_codes(typed) -> None:
    result, sr, _ = typed
    (totals,) = sr.content.get_image_measurement_groups()
    (score,) = totals.get_measurements(name=codes.DCM.CalciumScore)
    assert score.value == pytest.approx(result.agatston, abs=0.01)
    assert score.method == codes.DCM.AgatstonScoringMethod
    # The phantom has no coronary label: no coronary artery calcium score is claimed.
    assert not [m for m in totals.get_measurements() if m.name.value == "450360000"]


def _named(items, code: str) -> list:
    return [x for x in items if x.ConceptNameCodeSequence[0].CodeValue == code]


def test_structure_that_ohif_draws(typed) -> None:
    """Walk the raw dataset as OHIF's cornerstone-dicom-sr does (docs/integration.md)."""
    result, sr, volume = typed
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    (container,) = _named(sr.ContentSequence, "126010")  # Imaging Measurements
    groups = _named(container.ContentSequence, "125007")  # Measurement Group
    ct = {ds.SOPInstanceUID for ds in volume.source_datasets}
    drawn = []
    for group in groups:
        scoords = [x for x in group.ContentSequence if x.ValueType == "SCOORD"]
        if not scoords:
            continue
        (scoord,) = scoords
        assert scoord.GraphicType in {"POINT", "MULTIPOINT", "POLYLINE", "CIRCLE", "ELLIPSE"}
        assert scoord.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID in ct
        assert _named(group.ContentSequence, "112039")  # tracking identifier: the label
        assert [x for x in group.ContentSequence if x.ValueType == "NUM"]
        drawn.append(scoord)
    assert len(drawn) == len(result.lesions)


def test_coronary_lesions_give_the_coronary_artery_calcium_score(tmp_path) -> None:
    """The phantom's aorta label renamed to a coronary artery: its plaques become coronary."""
    import json

    write_phantom(tmp_path, seed=6)
    names = json.loads((tmp_path / "anatomy_names.json").read_text())
    renamed = {k: ("coronary_artery_lad" if v == "aorta" else v) for k, v in names.items()}
    (tmp_path / "coronary_names.json").write_text(json.dumps(renamed))
    result = quantify_scan(tmp_path / "dicom", anatomy=tmp_path / "anatomy.nii.gz",
                           anatomy_names=tmp_path / "coronary_names.json",
                           out_dir=tmp_path / "scan")
    # The plaques (the only vascular lesions: they lie in the renamed label) are coronary.
    coronary = [x for x in result.lesions if x.type == "vascular"]
    assert len(coronary) == 3 and all("coronar" in (x.region or "") for x in coronary)
    sr = hd.sr.Comprehensive3DSR.from_dataset(dcmread(tmp_path / "scan" / "sr.dcm"))
    (totals,) = sr.content.get_image_measurement_groups()
    (cac,) = [m for m in totals.get_measurements() if m.name.value == "450360000"]
    assert cac.name.scheme_designator == "SCT"
    assert cac.value == pytest.approx(sum(x.agatston for x in coronary), abs=0.01)
    sited = [g for g in sr.content.get_planar_roi_measurement_groups()
             if any(s.value == codes.SCT.CoronaryArtery for s in g.finding_sites)]
    assert len(sited) == len(coronary)
