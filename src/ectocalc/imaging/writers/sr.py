"""TID 1500 measurement report of a scan as a DICOM Comprehensive 3D SR (highdicom).

One TID 1501 group for the whole scan (Agatston score with the Agatston method, calcium
volume, calcium mass, threshold and calibration factor) and one TID 1411 volumetric ROI group
per SEG segment (the same three measures for that type, from ``result.by_type``). The source
CT and the SEG are its evidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ectocalc.imaging.volume import CTVolume
from ectocalc.imaging.writers._common import (
    MANUFACTURER,
    concepts,
    property_type,
    require_sources,
    segment_types,
)
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import ScanResult


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

    sources = require_sources(volume)
    units = concepts()
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
            finding_type=property_type(kind), algorithm_id=algorithm,
            measurements=_score_measurements(*_type_totals(result, kind)))
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
    import pydicom

    # The SR needs the SEG's identity only (a SEG of a CT without SliceThickness does not
    # read back through highdicom's segread, but it is referenced all the same).
    seg = None if seg_path is None else pydicom.dcmread(seg_path, stop_before_pixels=True)
    sr = build_sr(volume, result, seg)
    return atomic_write(Path(path), lambda tmp: sr.save_as(tmp))
