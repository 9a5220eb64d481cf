"""CT calcification quantification: read a CT, find and measure calcified lesions, write files.

The public API (imported lazily, so ``import ectocalc`` does not load the imaging stack):

* input — :func:`load_ct` (DICOM folder, ``.zip`` of one, single file, NIfTI),
  :func:`load_label_map`, :func:`read_names`, :func:`series_geometry`, :class:`CTVolume`;
* detection — :func:`body_mask`, :func:`bone_mask`, :func:`is_bone_like`,
  :class:`BoneParameters`, :func:`find_opacified_lumen`;
* measurement — :func:`measure_lesions`, :func:`kept_lesions`, :func:`label_in_plane`,
  :func:`calibration_factor`, conventions (:data:`CONVENTIONS`, :func:`get_convention`,
  :func:`parse_conventions`, :func:`factor_thresholds`, :func:`density_factor`);
* typing — :func:`classify_name`, :func:`find_joint`, :func:`type_lesion`;
* pipeline — :func:`analyse` (a :class:`CTVolume` in) and :func:`quantify` (files in and
  out), :func:`findings_from_scan`;
* output — :func:`write_seg`, :func:`write_sr`, :func:`write_lesion_csv`,
  :func:`write_overlays`.

Method notes: ``docs/imaging.md``. The synthetic test phantom is :mod:`ectocalc.datasets`.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES: dict[str, tuple[str, ...]] = {
    "volume": ("CTVolume",),
    "io.load": ("load_ct", "load_label_map", "read_names"),
    "io.dicom": ("series_geometry",),
    "detect": ("BoneParameters", "body_mask", "bone_mask", "find_opacified_lumen",
               "is_bone_like"),
    "measure": ("DEFAULT_CALIBRATION", "calibration_factor", "kept_lesions", "label_in_plane",
                "measure_lesions"),
    "conventions": ("CONVENTIONS", "Convention", "density_factor", "factor_thresholds",
                    "get_convention", "parse_conventions"),
    "anatomy": ("classify_name", "find_joint", "type_lesion"),
    "scan": ("Analysis", "analyse", "quantify"),
    "findings": ("findings_from_scan",),
    "writers.seg": ("write_seg",),
    "writers.sr": ("write_sr",),
    "writers.csv": ("write_lesion_csv",),
    "writers.overlay": ("write_overlays",),
}
_WHERE = {name: module for module, names in _SUBMODULES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the submodule defining ``name`` on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
