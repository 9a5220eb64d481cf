"""TID 1500 measurement report of a scan as a DICOM Comprehensive 3D SR (highdicom).

- One TID 1501 group for the whole scan: Agatston score (DCM 112058) with the Agatston method
  (DCM 112055), calcium volume, calcium mass, threshold and calibration factor, and, when
  lesions lie in a coronary artery, SNOMED 450360000 "Coronary artery calcium score" (their
  Agatston sum).
- One TID 1411 volumetric ROI group per SEG segment: the same three measures for that type
  (``result.by_type``), with the SEG segment reference.
- With the lesion labels, one TID 1410 planar ROI group per lesion that a viewer can draw:
  its outline (SCOORD closed POLYLINE, pixel coordinates) on its peak slice (the slice of its
  highest HU), referencing that CT image; the lesion's Agatston score, volume and mass; its
  type as finding type and its region (and the type's anatomic region) as finding sites.
  DICOM makes a group's image region and segment reference mutually exclusive (TID 1410/1411
  "ROI reference", XOR), so a lesion group names its SEG segment in its tracking identifier
  ("lesion 3, segment 1: vascular calcification") and that segment's type group holds the
  reference.

The source CT and the SEG are its evidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ectocalc.imaging.volume import CTVolume
from ectocalc.imaging.writers._common import (
    MANUFACTURER,
    concepts,
    property_type,
    require_sources,
    segment_types,
)
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import Lesion, ScanResult

CORONARY_SCORE = ("450360000", "SCT", "Coronary artery calcium score")
"""SNOMED CT concept of the coronary calcium score (contract §9)."""


def _measurement(name: Any, value: float, unit: Any, method: Any = None) -> Any:
    import highdicom as hd

    return hd.sr.Measurement(name=name, value=float(value), unit=unit, method=method)


def _score_measurements(agatston: float, volume_mm3: float, mass_mg: float) -> list[Any]:
    from pydicom.sr.codedict import codes

    units = concepts()
    return [
        _measurement(codes.DCM.CalciumScore, agatston, units["none"],
                     method=codes.DCM.AgatstonScoringMethod),
        _measurement(codes.DCM.CalciumVolume, volume_mm3, units["mm3"]),
        _measurement(codes.DCM.CalciumMass, mass_mg, units["mg"]),
    ]



def _type_totals(result: ScanResult, kind: str) -> tuple[float, float, float]:
    """Totals of one type: ``result.by_type`` (summed at full precision by the analysis), or
    the sum of the lesions of a result built without it."""
    if kind in result.by_type:
        totals = result.by_type[kind]
        return totals.agatston, totals.volume_mm3, totals.mass_mg
    chosen = [x for x in result.lesions if x.type == kind]
    return (sum(x.agatston for x in chosen), sum(x.volume_mm3 for x in chosen),
            sum(x.mass_mg for x in chosen))


def _site(name: str) -> Any | None:
    """The SNOMED CT concept whose meaning is ``name`` in pydicom's code dictionary
    ("abdominal_aorta" → 7832008 Abdominal aorta), else None (free-text regions are not coded)."""
    from pydicom.sr.codedict import codes

    keyword = "".join(word.capitalize() for word in name.replace("_", " ").split())
    try:
        return getattr(codes.SCT, keyword)
    except AttributeError:
        return None


def _coronary(result: ScanResult) -> list[Lesion]:
    """The lesions the coronary calcium score counts (``scales.yaml``'s coronary pattern)."""
    from ectocalc.scales import is_coronary, load_scales
    from ectocalc.service import default_knowledge

    scales = load_scales(default_knowledge())
    return [x for x in result.lesions if is_coronary(x, scales)]


def _finding_sites(lesion: Lesion, coronary: bool) -> list[Any]:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    regions = concepts()["regions"]
    sites = [_site(lesion.region) if lesion.region else None,
             codes.SCT.CoronaryArtery if coronary else None, regions.get(lesion.type)]
    return [hd.sr.FindingSite(c) for c in dict.fromkeys(c for c in sites if c is not None)]


def _outline(labels: np.ndarray, hu: np.ndarray, lesion_id: int,
             box: tuple[slice, slice, slice]) -> tuple[int, np.ndarray]:
    """Peak slice index of a lesion and its outline there: the longest closed contour of the
    lesion's pixels, as SCOORD (column, row) pixel coordinates (pixel centres at +0.5)."""
    import contourpy

    mask = labels[box] == lesion_id
    peak = np.unravel_index(np.argmax(np.where(mask, hu[box], -np.inf)), mask.shape)
    plane = np.pad(mask[peak[0]], 1).astype(float)
    lines = contourpy.contour_generator(z=plane).lines(0.5)
    longest = max(lines, key=len)  # type: ignore[arg-type]
    offset = np.array([box[2].start - 1 + 0.5, box[1].start - 1 + 0.5])
    return box[0].start + int(peak[0]), np.asarray(longest, dtype=float) + offset


def _lesion_groups(sources: list[Any], labels: np.ndarray, hu: np.ndarray, result: ScanResult,
                   algorithm: Any, *, with_seg: bool) -> list[Any]:
    """One TID 1410 planar ROI group per lesion (see the module notes); ``with_seg``: the
    tracking identifier names the lesion's SEG segment."""
    import highdicom as hd
    from pydicom.uid import generate_uid
    from scipy import ndimage

    boxes = ndimage.find_objects(labels)
    coronary = {x.id for x in _coronary(result)}
    numbers = {kind: n for n, kind in enumerate(segment_types(result), start=1)}

    def segment(lesion: Lesion) -> str:
        return f", segment {numbers[lesion.type]}" if with_seg else ""

    groups = []
    for lesion in result.lesions:
        box = boxes[lesion.id - 1] if lesion.id <= len(boxes) else None
        if box is None:
            continue
        k, outline = _outline(labels, hu, lesion.id, box)
        image = sources[k]
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=generate_uid(),
                identifier=f"lesion {lesion.id}{segment(lesion)}: {lesion.type} calcification"),
            referenced_region=hd.sr.ImageRegion(
                graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=outline,
                source_image=hd.sr.SourceImageForRegion(
                    referenced_sop_class_uid=image.SOPClassUID,
                    referenced_sop_instance_uid=image.SOPInstanceUID)),
            finding_type=property_type(lesion.type), algorithm_id=algorithm,
            finding_sites=_finding_sites(lesion, lesion.id in coronary) or None,
            measurements=_score_measurements(lesion.agatston, lesion.volume_mm3,
                                             lesion.mass_mg)))
    return groups


def build_sr(volume: CTVolume, result: ScanResult, seg: Any | None,
             labels: np.ndarray | None = None) -> Any:
    """The TID 1500 ``Comprehensive3DSR`` for ``result``, referencing the segments of ``seg``.

    Without ``seg`` (a scan with no lesion) the report holds the whole-scan totals only.
    With ``labels`` (lesion id per voxel, shape of ``volume.hu``) each lesion also gets a
    planar ROI group with its outline on its peak slice.

    Raises
    ------
    ValueError
        If ``volume`` has no source DICOM datasets.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code
    from pydicom.uid import generate_uid

    from ectocalc import __version__

    sources = require_sources(volume)
    units = concepts()
    coronary = _coronary(result)
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(), name="ectocalc", manufacturer_name=MANUFACTURER,
            model_name=f"ectocalc {__version__}"))
    algorithm = hd.sr.AlgorithmIdentification(name="ectocalc", version=__version__,
                                               parameters=[result.convention])
    totals = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(),
                                                     identifier="all calcification"),
        algorithm_id=algorithm,
        measurements=[
            *_score_measurements(result.agatston, result.volume_mm3, result.mass_mg),
            _measurement(codes.DCM.AgatstonScoreThreshold, result.threshold_hu, units["hu"]),
            _measurement(codes.DCM.CalciumScoringCalibration,
                         result.calibration_mg_per_cm3_per_hu, units["calibration"]),
            *([_measurement(Code(*CORONARY_SCORE), sum(x.agatston for x in coronary),
                            units["none"],
                            method=codes.DCM.AgatstonScoringMethod)] if coronary else []),
        ])
    series = hd.sr.SourceSeriesForSegmentation(sources[0].SeriesInstanceUID)
    groups = [
        hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=generate_uid(), identifier=f"{kind} calcification"),
            referenced_segment=hd.sr.ReferencedSegment(
                sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID,
                segment_number=number, source_series=series),
            finding_type=property_type(kind), algorithm_id=algorithm,
            measurements=_score_measurements(*_type_totals(result, kind)))
        for number, kind in enumerate(segment_types(result), start=1)
    ] if seg is not None else []
    if labels is not None:
        groups += _lesion_groups(sources, labels, volume.hu, result, algorithm,
                                 with_seg=seg is not None)
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=[totals, *groups])
    return hd.sr.Comprehensive3DSR(
        evidence=[*sources, seg] if seg is not None else list(sources), content=report,
        series_instance_uid=generate_uid(), series_number=902, sop_instance_uid=generate_uid(),
        instance_number=1, manufacturer=MANUFACTURER, is_complete=True,
        series_description="Calcium scoring report (ectocalc)")


def write_sr(volume: CTVolume, result: ScanResult, seg_path: Path | None, path: Path,
             labels: np.ndarray | None = None) -> Path:
    """Write the TID 1500 measurement report of ``result`` as a Comprehensive 3D SR.

    Parameters
    ----------
    volume : CTVolume
        The scored CT (its source datasets are evidence of the report).
    result : ScanResult
        Totals and lesions to report.
    seg_path : Path or None
        The SEG written by :func:`write_seg` for the same result (segments are referenced);
        None for a scan without lesions (totals only).
    path : Path
        Output file.
    labels : ndarray of int, optional
        Lesion id per voxel (shape of ``volume.hu``): adds one planar ROI group per lesion
        (outline on its peak slice) that viewers such as OHIF draw.

    Returns
    -------
    Path
        ``path``, written atomically.
    """
    import pydicom

    # The SR needs the SEG's identity only (a SEG of a CT without SliceThickness does not
    # read back through highdicom's segread, but it is referenced all the same).
    seg = None if seg_path is None else pydicom.dcmread(seg_path, stop_before_pixels=True)
    sr = build_sr(volume, result, seg, labels)
    return atomic_write(Path(path), lambda tmp: sr.save_as(tmp))
