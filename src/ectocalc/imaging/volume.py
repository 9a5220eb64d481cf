"""The CT volume type: Hounsfield units plus the geometry and acquisition facts scoring needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CTVolume:
    """A CT volume in Hounsfield units with its patient-space geometry.

    Parameters
    ----------
    hu : ndarray, shape (slices, rows, columns)
        Hounsfield units, slices sorted by position along the slice normal (ascending).
    affine : ndarray, shape (4, 4)
        Maps voxel indices ``(column, row, slice, 1)`` to DICOM patient coordinates (LPS, mm).
    pixel_spacing_mm : (float, float)
        Row spacing then column spacing (DICOM PixelSpacing order).
    slice_increment_mm : float
        Distance between consecutive slice positions (not the nominal thickness).
    kvp, slice_thickness_mm, kernel, contrast_agent, manufacturer : optional acquisition facts.
    source_datasets : list of pydicom Dataset, optional
        The sorted source CT datasets (pixel data may be dropped), for DICOM SEG/SR references.
    warnings : list of str
        Non-fatal problems found while loading (shown in the scan output).
    """

    hu: np.ndarray
    affine: np.ndarray
    pixel_spacing_mm: tuple[float, float]
    slice_increment_mm: float
    kvp: float | None = None
    slice_thickness_mm: float | None = None
    kernel: str | None = None
    contrast_agent: str | None = None
    manufacturer: str | None = None
    source_datasets: list[Any] | None = None
    source: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel (pixel area × slice increment)."""
        return float(self.pixel_spacing_mm[0] * self.pixel_spacing_mm[1] * self.slice_increment_mm)

    def index_to_lps(self, ijk: np.ndarray) -> np.ndarray:
        """Patient coordinates (LPS mm) of voxel indices given as ``(slice, row, column)`` rows.

        Examples
        --------
        >>> v = CTVolume(hu=np.zeros((2, 2, 2)), affine=np.diag([0.5, 0.5, 3.0, 1.0]),
        ...              pixel_spacing_mm=(0.5, 0.5), slice_increment_mm=3.0)
        >>> v.index_to_lps(np.array([[1, 0, 1]])).tolist()
        [[0.5, 0.0, 3.0]]
        """
        kji = np.atleast_2d(np.asarray(ijk, dtype=float))
        homogeneous = np.column_stack([kji[:, 2], kji[:, 1], kji[:, 0], np.ones(len(kji))])
        return (homogeneous @ self.affine.T)[:, :3]
