"""Noise is not calcium: candidates judged against the local image noise.

Low-dose and thin-slice images are grainy: soft tissue at 40 HU with a noise SD of 40 HU
crosses a 130 HU threshold in specks of a few pixels, which the 1 mm² rule does not stop
(it was chosen for 3 mm electron-beam slices). Each candidate — a 26-connected region of
dense voxels outside bone — is kept only when its peak stands out of the noise around it:

1. **local noise** σ: the median of the HU standard deviation in small square windows
   (``window_mm``) over homogeneous tissue — windows whose mean lies in ``tissue_hu`` and that
   hold no dense (≥ threshold) and no air voxel — within ``search_mm`` of the candidate, in
   the slice of its peak (the global-noise-level idea of Christianson 2015, measured locally
   because noise grows towards the shoulders and the table);
2. **strong**: peak ≥ threshold + ``strong_sd`` σ (Comp2Comp's adaptive threshold is the
   blood-pool median + 3 SD) — kept;
3. **weak**: peak ≥ threshold + ``weak_sd`` σ and within ``reach_mm`` of a strong candidate
   (hysteresis, Canny 1986: the faint end of a plaque next to its dense part) — kept;
4. everything else is **noise**: not scored, counted in ``excluded["noise"]``.

Parameters live in ``knowledge/data/imaging.yaml`` (``noise``). Where no homogeneous tissue
lies near a candidate (a lung full of vessels), the median σ of the other candidates is used;
when none could be measured, nothing is rejected and a warning says so. A candidate whose
peak is ``strong_sd`` × ``max_sd_hu`` above the threshold is strong whatever the noise and is
not measured (most real calcium: the test costs little on scans without noise specks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ectocalc.imaging._knowledge import NoiseTable, imaging_knowledge
from ectocalc.imaging.measure import label_flat

NOISE: NoiseTable = imaging_knowledge().noise
"""The noise-test parameters of ``knowledge/data/imaging.yaml``."""


@dataclass(frozen=True)
class NoiseVerdict:
    """What :func:`reject_noise` kept and why."""

    kept: np.ndarray
    """Sorted flat indices of the candidate voxels kept."""
    rejected: int
    """Number of candidate regions judged noise."""
    noise_sd_hu: float | None
    """Median local noise SD (HU) over the candidates measured; None when none could be."""
    unmeasured: int
    """Candidates that needed a noise measure when none could be made (kept untested)."""


def local_noise_sd(hu: np.ndarray, *, pixel_spacing_mm: tuple[float, float],
                   threshold_hu: float, params: NoiseTable = NOISE) -> float | None:
    """Noise SD (HU) of one 2D region: the median local SD over homogeneous tissue windows.

    Parameters
    ----------
    hu : ndarray, shape (rows, columns)
        HU values of the region (a crop of one slice).
    pixel_spacing_mm : (float, float)
    threshold_hu : float
        Detection threshold: windows holding a voxel at or above it are not homogeneous.
    params : NoiseTable

    Returns
    -------
    float or None
        None when fewer than ``params.min_windows`` homogeneous windows fit in the region.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tissue = rng.normal(40, 25, (80, 80))
    >>> round(local_noise_sd(tissue, pixel_spacing_mm=(0.5, 0.5), threshold_hu=130))
    25
    """
    size = [max(3, round(params.window_mm / s) | 1) for s in pixel_spacing_mm]
    if hu.shape[0] < size[0] or hu.shape[1] < size[1]:
        return None
    values = hu.astype(np.float32)
    mean = ndimage.uniform_filter(values, size, mode="nearest")
    square = ndimage.uniform_filter(values * values, size, mode="nearest")
    unusual = (values >= threshold_hu) | (values < params.air_hu)
    spoiled = ndimage.maximum_filter(unusual, size, mode="nearest")
    ok = ~spoiled & (mean >= params.tissue_hu[0]) & (mean <= params.tissue_hu[1])
    # Only windows wholly inside the region.
    half = [n // 2 for n in size]
    ok[:half[0]] = ok[hu.shape[0] - half[0]:] = False
    ok[:, :half[1]] = ok[:, hu.shape[1] - half[1]:] = False
    if np.count_nonzero(ok) < params.min_windows:
        return None
    variance = np.maximum(square[ok] - mean[ok] ** 2, 0.0)
    return float(np.sqrt(np.median(variance)))


def reject_noise(hu: np.ndarray, candidates: np.ndarray, *, threshold_hu: float,
                 spacing_mm: tuple[float, float, float],
                 params: NoiseTable = NOISE) -> NoiseVerdict:
    """Drop the candidate regions that do not stand out of the local image noise.

    Parameters
    ----------
    hu : ndarray, shape (slices, rows, columns)
    candidates : ndarray of int
        Sorted flat indices of the candidate voxels (``hu >= threshold_hu``, in the body,
        outside bone).
    threshold_hu : float
        The detection threshold the candidates were taken at.
    spacing_mm : (float, float, float)
        Slice increment, row and column spacing.
    params : NoiseTable

    Returns
    -------
    NoiseVerdict

    Examples
    --------
    Grainy soft tissue (SD 45 HU) crosses 130 HU in specks; a dense 3-pixel plaque does not
    look like them:

    >>> rng = np.random.default_rng(1)
    >>> hu = rng.normal(40, 45, (1, 120, 120))
    >>> hu[0, 60, 60:63] = 420
    >>> flat = np.flatnonzero(hu >= 130)
    >>> verdict = reject_noise(hu, flat, threshold_hu=130, spacing_mm=(3.0, 0.5, 0.5))
    >>> verdict.rejected > 50, np.unravel_index(verdict.kept, hu.shape)[2].tolist()
    (True, [60, 61, 62])
    """
    if len(candidates) == 0:
        return NoiseVerdict(candidates, 0, None, 0)
    ids, n = label_flat(hu.shape, candidates, connectivity=26)
    values = hu.ravel()[candidates].astype(np.float64)
    order = np.lexsort((values, ids))
    ends = np.searchsorted(ids[order], np.arange(1, n + 1), side="right") - 1
    peak_at = candidates[order[ends]]
    peak = values[order[ends]]
    coords = np.unravel_index(candidates, hu.shape)
    starts = np.r_[0, ends[:-1] + 1]
    sigma = np.full(n, np.nan)
    margin = [int(np.ceil(params.search_mm / s)) for s in spacing_mm[1:]]
    # A peak this far above the threshold is strong whatever the noise: not measured.
    obvious = peak >= threshold_hu + params.strong_sd * params.max_sd_hu
    for i in np.flatnonzero(~obvious):
        members = order[starts[i]:ends[i] + 1]
        k = int(peak_at[i] // (hu.shape[1] * hu.shape[2]))
        in_slice = members[coords[0][members] == k]
        ys, xs = coords[1][in_slice], coords[2][in_slice]
        box = (slice(max(int(ys.min()) - margin[0], 0), int(ys.max()) + margin[0] + 1),
               slice(max(int(xs.min()) - margin[1], 0), int(xs.max()) + margin[1] + 1))
        measured = local_noise_sd(hu[k][box], pixel_spacing_mm=spacing_mm[1:],
                                  threshold_hu=threshold_hu, params=params)
        if measured is not None:
            sigma[i] = measured
    found = sigma[np.isfinite(sigma)]
    typical = float(np.median(found)) if len(found) else None
    if typical is None:
        return NoiseVerdict(candidates, 0, None, int(np.count_nonzero(~obvious)))
    sigma[~np.isfinite(sigma)] = typical
    excess = (peak - threshold_hu) / np.maximum(sigma, 1e-6)
    strong = obvious | (excess >= params.strong_sd)
    weak = ~strong & (excess >= params.weak_sd)
    keep = np.zeros(n + 1, dtype=bool)
    keep[1:] = strong
    if weak.any() and strong.any():
        scale = np.asarray(spacing_mm)
        points = np.column_stack(coords).astype(np.float64) * scale
        tree = cKDTree(points[strong[ids - 1]])
        is_weak = weak[ids - 1]
        near, _ = tree.query(points[is_weak], distance_upper_bound=params.reach_mm + 1e-9)
        reached = np.unique(ids[is_weak][np.isfinite(near)])
        keep[reached] = True
    kept = candidates[keep[ids]]
    return NoiseVerdict(kept, int(n - np.count_nonzero(keep)), typical, 0)
