"""Standard outputs of ``ectocalc scan``: DICOM SEG, TID 1500 DICOM SR and a lesion CSV.

Design (highdicom 0.28):

* **SEG** — one binary segment per calcification type present (``vascular``, ``cutaneous``,
  …), in the fixed order of :data:`TYPE_ORDER`. Property category is SNOMED "Morphologically
  abnormal structure" (49755003); property type is SNOMED "Vascular calcification"
  (237897009) for vascular lesions and DCM "Abnormal calcifications" (112063) for the other
  types, whose segment label names the type; cutaneous and soft-tissue segments also carry
  the SNOMED anatomic region. The algorithm identification names ectocalc, its version, the
  scoring convention and the HU threshold. Per-lesion detail lives in the CSV (a segment per
  lesion would make the SEG grow with the lesion count).
* **SR** — a ``Comprehensive3DSR`` holding a ``MeasurementReport`` with one TID 1501 group for
  the whole scan (Agatston score with the Agatston method, calcium volume, calcium mass,
  threshold and calibration factor) and one TID 1411 volumetric ROI group per SEG segment
  (the same three measures for that type). The source CT and the SEG are its evidence.
* **CSV** — one row per lesion.

Every writer writes a temporary file next to the target and renames it into place, so a failed
run never leaves a complete-looking output.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ectocalc.imaging.volume import CTVolume
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import Lesion, ScanResult

TYPE_ORDER: tuple[str, ...] = ("vascular", "periarticular", "cutaneous", "visceral",
                               "soft_tissue")
"""Segment order of the SEG: the calcification types of contract section 3."""

CSV_COLUMNS: tuple[str, ...] = (
    "id", "type", "region", "subtype", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm",
    "slices", "volume_mm3", "mass_mg", "peak_hu", "agatston", "max_diameter_mm",
)
"""Header of :func:`write_lesion_csv`; ``slices`` is a ``;``-separated list of indices."""

MANUFACTURER = "ectocalc"


def segment_types(result: ScanResult) -> list[str]:
    """Calcification types present in ``result``, in SEG segment order (segment n = index+1).

    Examples
    --------
    >>> from ectocalc.model.scan import ScanResult
    >>> segment_types(ScanResult(convention="c", threshold_hu=130, kvp=120,
    ...     slice_increment_mm=3, pixel_spacing_mm=(1, 1), calibration_mg_per_cm3_per_hu=0.78,
    ...     agatston=0, volume_mm3=0, mass_mg=0))
    []
    """
    present = {lesion.type for lesion in result.lesions}
    return [t for t in TYPE_ORDER if t in present]


def segment_label_map(labels: np.ndarray, result: ScanResult) -> np.ndarray:
    """Map lesion ids to SEG segment numbers (0 = background, ids not in ``result`` dropped).

    Examples
    --------
    >>> from ectocalc.model.scan import Lesion, ScanResult
    >>> lesion = Lesion(id=2, centroid_mm=(0, 0, 0), volume_mm3=1, mass_mg=1, peak_hu=500,
    ...                 agatston=4, type="cutaneous")
    >>> r = ScanResult(convention="c", threshold_hu=130, kvp=120, slice_increment_mm=3,
    ...     pixel_spacing_mm=(1, 1), calibration_mg_per_cm3_per_hu=0.78, agatston=4,
    ...     volume_mm3=1, mass_mg=1, lesions=[lesion])
    >>> segment_label_map(np.array([0, 1, 2]), r).tolist()
    [0, 0, 1]
    """
    numbers = {t: i + 1 for i, t in enumerate(segment_types(result))}
    lut = np.zeros(int(max([0, labels.max(initial=0)] + [x.id for x in result.lesions])) + 1,
                   dtype=np.uint8)
    for lesion in result.lesions:
        lut[lesion.id] = numbers[lesion.type]
    return lut[np.clip(labels, 0, len(lut) - 1)]


def _codes() -> dict[str, Any]:
    """Coded concepts used by SEG and SR (imported lazily: highdicom is slow to import)."""
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    return {
        "category": codes.SCT.MorphologicallyAbnormalStructure,
        "vascular": codes.SCT.VascularCalcification,
        "other": codes.DCM.AbnormalCalcifications,
        "regions": {"cutaneous": codes.SCT.SkinStructure, "soft_tissue": codes.SCT.SoftTissue},
        "mm3": codes.UCUM.CubicMillimeter,
        "hu": codes.UCUM.HounsfieldUnit,
        "none": codes.UCUM.NoUnits,
        "mg": Code("mg", "UCUM", "milligram"),
        "calibration": Code("mg/cm3/[hnsf'U]", "UCUM", "milligram per cubic centimeter per HU"),
    }


def _property_type(calcification_type: str) -> Any:
    codes = _codes()
    return codes["vascular"] if calcification_type == "vascular" else codes["other"]


def _algorithm(result: ScanResult) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from ectocalc import __version__

    # Threshold then connected components: a morphological operation (CID 7162).
    return hd.AlgorithmIdentificationSequence(
        name="ectocalc", version=__version__, family=codes.cid7162.MorphologicalOperations,
        parameters={"convention": result.convention, "threshold_hu": f"{result.threshold_hu:g}",
                    "calibration_mg_per_cm3_per_hu":
                        f"{result.calibration_mg_per_cm3_per_hu:g}"})


def _require_sources(volume: CTVolume) -> list[Any]:
    if not volume.source_datasets:
        raise ValueError("DICOM SEG/SR need the source DICOM datasets; this volume has none "
                         "(NIfTI input?)")
    return list(volume.source_datasets)


def build_seg(volume: CTVolume, labels: np.ndarray, result: ScanResult) -> Any:
    """The highdicom ``Segmentation`` of the lesion mask (see the module notes for its layout).

    Raises
    ------
    ValueError
        If ``volume`` has no source DICOM datasets, ``labels`` has the wrong shape, or the
        result has no lesions (a SEG needs at least one segment).
    """
    import highdicom as hd
    from pydicom.uid import generate_uid

    from ectocalc import __version__

    sources = _require_sources(volume)
    if labels.shape != volume.hu.shape:
        raise ValueError(f"labels shape {labels.shape} differs from the volume {volume.hu.shape}")
    types = segment_types(result)
    if not types:
        raise ValueError("no lesions: a DICOM SEG needs at least one segment")
    codes = _codes()
    algorithm = _algorithm(result)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number, segment_label=f"{kind} calcification",
            segmented_property_category=codes["category"],
            segmented_property_type=_property_type(kind),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm, tracking_uid=generate_uid(),
            tracking_id=f"{kind} calcification",
            anatomic_regions=[codes["regions"][kind]] if kind in codes["regions"] else None)
        for number, kind in enumerate(types, start=1)
    ]
    return hd.seg.Segmentation(
        source_images=sources, pixel_array=segment_label_map(labels, result),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=generate_uid(), series_number=901,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        manufacturer_model_name="ectocalc scan", software_versions=__version__,
        device_serial_number="0",
        content_description=f"Calcification ({result.convention}, "
                            f">= {result.threshold_hu:g} HU)"[:64],
        content_label="CALCIUM")


def write_seg(volume: CTVolume, labels: np.ndarray, result: ScanResult, path: Path) -> Path:
    """Write the lesion mask as a DICOM Segmentation referencing the source CT series.

    Parameters
    ----------
    volume : CTVolume
        The scored CT; its sorted ``source_datasets`` are the SEG's source images.
    labels : ndarray of int, same shape as ``volume.hu``
        Lesion id per voxel (0 = none); ids of ``result.lesions`` are kept.
    result : ScanResult
        Gives each lesion's type (one segment per type).
    path : Path
        Output file.

    Returns
    -------
    Path
        ``path``, written atomically.

    Examples
    --------
    The test suite round-trips a phantom scan through ``highdicom.seg.segread``:

    >>> import highdicom as hd
    >>> path = write_seg(volume, labels, result, Path("out/seg.dcm"))  # doctest: +SKIP
    >>> hd.seg.segread(path).number_of_segments                        # doctest: +SKIP
    3
    """
    seg = build_seg(volume, labels, result)
    return atomic_write(Path(path), lambda tmp: seg.save_as(tmp))


def _measurement(name: Any, value: float, unit: Any, method: Any = None) -> Any:
    import highdicom as hd

    return hd.sr.Measurement(name=name, value=float(value), unit=unit, method=method)


def _score_measurements(agatston: float, volume_mm3: float, mass_mg: float) -> list[Any]:
    from pydicom.sr.codedict import codes

    units = _codes()
    return [
        _measurement(codes.DCM.CalciumScore, agatston, units["none"],
                     method=codes.DCM.AgatstonScoringMethod),
        _measurement(codes.DCM.CalciumVolume, volume_mm3, units["mm3"]),
        _measurement(codes.DCM.CalciumMass, mass_mg, units["mg"]),
    ]


def _type_totals(lesions: Sequence[Lesion], kind: str) -> tuple[float, float, float]:
    chosen = [x for x in lesions if x.type == kind]
    return (sum(x.agatston for x in chosen), sum(x.volume_mm3 for x in chosen),
            sum(x.mass_mg for x in chosen))


def build_sr(volume: CTVolume, result: ScanResult, seg: Any | None) -> Any:
    """The TID 1500 ``Comprehensive3DSR`` for ``result``, referencing the segments of ``seg``.

    Without ``seg`` (a scan with no lesion) the report holds the whole-scan totals only.

    Raises
    ------
    ValueError
        If ``volume`` has no source DICOM datasets.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    from ectocalc import __version__

    sources = _require_sources(volume)
    units = _codes()
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
        ])
    series = hd.sr.SourceSeriesForSegmentation(sources[0].SeriesInstanceUID)
    groups = [
        hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=generate_uid(), identifier=f"{kind} calcification"),
            referenced_segment=hd.sr.ReferencedSegment(
                sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID,
                segment_number=number, source_series=series),
            finding_type=_property_type(kind), algorithm_id=algorithm,
            measurements=_score_measurements(*_type_totals(result.lesions, kind)))
        for number, kind in enumerate(segment_types(result), start=1)
    ] if seg is not None else []
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=[totals, *groups])
    return hd.sr.Comprehensive3DSR(
        evidence=[*sources, seg] if seg is not None else list(sources), content=report,
        series_instance_uid=generate_uid(), series_number=902, sop_instance_uid=generate_uid(),
        instance_number=1, manufacturer=MANUFACTURER, is_complete=True,
        series_description="Calcium scoring report (ectocalc)")


def write_sr(volume: CTVolume, result: ScanResult, seg_path: Path | None, path: Path) -> Path:
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

    Returns
    -------
    Path
        ``path``, written atomically.
    """
    import highdicom as hd

    seg = None if seg_path is None else hd.seg.segread(seg_path)
    sr = build_sr(volume, result, seg)
    return atomic_write(Path(path), lambda tmp: sr.save_as(tmp))


def _cell(value: object) -> str:
    """CSV text of a value: empty for None, shortest exact repr for floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def lesion_rows(result: ScanResult) -> list[list[str]]:
    """The CSV rows (without header) of :func:`write_lesion_csv`, one per lesion.

    Examples
    --------
    >>> from ectocalc.model.scan import Lesion, ScanResult
    >>> lesion = Lesion(id=1, centroid_mm=(1.5, -2.0, 30.0), volume_mm3=98.2, mass_mg=80.1,
    ...                 peak_hu=1020, agatston=120.5, type="soft_tissue", slices=[9, 10])
    >>> lesion_rows(ScanResult(convention="c", threshold_hu=130, kvp=120, slice_increment_mm=3,
    ...     pixel_spacing_mm=(1, 1), calibration_mg_per_cm3_per_hu=0.78, agatston=120.5,
    ...     volume_mm3=98.2, mass_mg=80.1, lesions=[lesion]))[0][:8]
    ['1', 'soft_tissue', '', '', '1.5', '-2.0', '30.0', '9;10']
    """
    return [
        [_cell(x) for x in (lesion.id, lesion.type, lesion.region, lesion.subtype,
                            *map(float, lesion.centroid_mm))]
        + [";".join(str(s) for s in lesion.slices)]
        + [_cell(x) for x in (lesion.volume_mm3, lesion.mass_mg, lesion.peak_hu,
                              lesion.agatston, lesion.max_diameter_mm)]
        for lesion in result.lesions
    ]


def write_lesion_csv(result: ScanResult, path: Path) -> Path:
    """Write one CSV row per lesion (columns :data:`CSV_COLUMNS`, LPS millimetres).

    Returns
    -------
    Path
        ``path``, written atomically.
    """
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(lesion_rows(result))

    return atomic_write(Path(path), write)
