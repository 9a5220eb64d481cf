"""One CSV row per lesion (``lesions.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

from ectocalc.io.files import atomic_write
from ectocalc.model.scan import ScanResult

CSV_COLUMNS: tuple[str, ...] = (
    "id", "type", "region", "subtype", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm",
    "slices_1based", "volume_mm3", "mass_mg", "peak_hu", "agatston", "max_diameter_mm",
)
"""Header of :func:`write_lesion_csv`; ``slices_1based`` is a ``;``-separated list of slice
numbers counted from 1, as in the text report and the overlay file names (the JSON
``slices`` are 0-based array indices)."""


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
    ['1', 'soft_tissue', '', '', '1.5', '-2.0', '30.0', '10;11']
    """
    return [
        [_cell(x) for x in (lesion.id, lesion.type, lesion.region, lesion.subtype,
                            *map(float, lesion.centroid_mm))]
        + [";".join(str(s + 1) for s in lesion.slices)]
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
