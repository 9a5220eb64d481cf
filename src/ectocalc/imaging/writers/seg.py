"""DICOM Segmentation of the lesion mask (highdicom).

One binary segment per calcification type present (``vascular``, ``cutaneous``, …), in the
fixed order of :data:`ectocalc.model.scan.TYPE_ORDER`. Property category is SNOMED
"Morphologically abnormal structure" (49755003); property type is SNOMED "Vascular
calcification" (237897009) for vascular lesions and DCM "Abnormal calcifications" (112063) for
the other types, whose segment label names the type; cutaneous and soft-tissue segments also
carry the SNOMED anatomic region. The algorithm identification names ectocalc, its version,
the scoring convention and the HU threshold. Per-lesion detail lives in the CSV (a segment per
lesion would make the SEG grow with the lesion count). The source images are the slices that
hold lesions only: the SEG grows with the lesions, not with the scan.
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
from ectocalc.model.scan import ScanResult


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
    if labels.ndim < 3:
        return lut[np.clip(labels, 0, len(lut) - 1)]
    out = np.zeros(labels.shape, dtype=np.uint8)
    for k in np.flatnonzero(labels.any(axis=(1, 2))):  # slices holding lesions only
        out[k] = lut[np.clip(labels[k], 0, len(lut) - 1)]
    return out


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



def build_seg(volume: CTVolume, labels: np.ndarray, result: ScanResult) -> Any:
    """The highdicom ``Segmentation`` of the lesion mask (see the module notes for its layout).

    Raises
    ------
    ValueError
        If ``volume`` has no source DICOM datasets, ``labels`` has the wrong shape, or the
        result has no lesions in ``labels`` (a SEG needs at least one segment).
    """
    import highdicom as hd
    from pydicom.uid import generate_uid

    from ectocalc import __version__

    if labels.shape != volume.hu.shape:
        raise ValueError(f"labels shape {labels.shape} differs from the volume {volume.hu.shape}")
    types = segment_types(result)
    if not types:
        raise ValueError("no lesions: a DICOM SEG needs at least one segment")
    # Only the slices holding lesions are source images of the SEG: its size and the time
    # to write it follow the lesions, not the scan (the round trip is tested).
    held = np.flatnonzero(labels.any(axis=(1, 2)))
    frames = segment_label_map(labels[held], result)
    held, frames = held[frames.any(axis=(1, 2))], frames[frames.any(axis=(1, 2))]
    if not len(held):
        raise ValueError("no voxel of the result's lesions in labels: nothing to segment")
    sources = require_sources(volume, first=int(held[0]))
    codes = concepts()
    algorithm = _algorithm(result)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number, segment_label=f"{kind} calcification",
            segmented_property_category=codes["category"],
            segmented_property_type=property_type(kind),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm, tracking_uid=generate_uid(),
            tracking_id=f"{kind} calcification",
            anatomic_regions=[codes["regions"][kind]] if kind in codes["regions"] else None)
        for number, kind in enumerate(types, start=1)
    ]
    return hd.seg.Segmentation(
        source_images=[sources[k] for k in held], pixel_array=frames,
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
