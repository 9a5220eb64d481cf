"""Calcification type and region of each lesion, from an anatomy label map or the skin.

With a label map (TotalSegmentator class names; the name rules and joint table are data in
``knowledge/data/imaging.yaml``), a lesion takes the class most of its voxels
(or, for a lesion lying just outside every label, its nearest labelled voxels within
``search_mm``) fall in: vessels → ``vascular``, valves → ``vascular``/``valvular``, heart →
``vascular``/``cardiac``, organs → ``visceral``; bone classes mark the lesion as bone (it is
dropped). A lesion within ``joint_mm`` of both bones of a joint is ``periarticular``.
Everything else (and every lesion without a map) is ``cutaneous`` when it comes within
``skin_mm`` of the body surface, otherwise ``soft_tissue``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ectocalc.errors import InputError
from ectocalc.imaging._knowledge import imaging_knowledge

SKIN_MM = 5.0
"""Lesions reaching within this distance (in-plane) of the body surface are cutaneous."""
JOINT_MM = 15.0
"""A lesion within this distance of both bones of a joint is periarticular."""
SEARCH_MM = 3.0
"""A lesion outside every label takes the label found within this distance (wall plaques)."""

_ANATOMY = imaging_knowledge().anatomy
_RULES = [(re.compile(rule.pattern), rule) for rule in _ANATOMY.rules]
"""Name rules of ``knowledge/data/imaging.yaml``, in order (the first match wins)."""
_JOINTS = [(joint.name, joint.bone_a, joint.bone_b) for joint in _ANATOMY.joints]
"""Bones meeting at a joint: (joint name, bone-name pattern A, bone-name pattern B)."""


_REPORT = imaging_knowledge().report_regions
_REGION_RULES = [(re.compile(rule.pattern), rule.region) for rule in _REPORT.rules]
_ARTERY_RULES = [(artery, re.compile(pattern)) for artery, pattern in _REPORT.arteries.items()]


@dataclass(frozen=True)
class Typing:
    """Type, anatomy structure and subtype of one lesion; ``bone`` marks a lesion to drop,
    for ``reason`` (bone or cartilage)."""

    type: str
    structure: str | None = None
    subtype: str | None = None
    bone: bool = False
    reason: str | None = None


def report_region(structure: str, *, chest: bool) -> str:
    """Reporting region (contract 1.1 ``by_region`` key) of a non-bone anatomy class.

    ``chest``: whether the lesion lies in a chest slice (splits the aorta into thoracic
    and abdominal).

    Examples
    --------
    >>> report_region("coronary_artery_lad", chest=True), report_region("aorta", chest=False)
    ('coronary', 'abdominal_aorta')
    >>> report_region("iliac_artery_left", chest=False), report_region("kidney_left", chest=False)
    ('other_vascular', 'non_vascular')
    """
    lowered = structure.lower()
    for pattern, region in _REGION_RULES:
        if pattern.search(lowered):
            if region == "aorta":
                return "thoracic_aorta" if chest else "abdominal_aorta"
            return region
    return "other_vascular" if classify_name(structure).type == "vascular" else "non_vascular"


def artery_of(structure: str | None) -> str | None:
    """Coronary artery (lm, lad, lcx, rca) a class name names, or None.

    Examples
    --------
    >>> artery_of("coronary_artery_lad"), artery_of("heart"), artery_of(None)
    ('lad', None, None)
    """
    if not structure:
        return None
    lowered = structure.lower()
    return next((artery for artery, pattern in _ARTERY_RULES if pattern.search(lowered)), None)


def classify_name(name: str) -> Typing:
    """Typing implied by one TotalSegmentator class name.

    Examples
    --------
    >>> classify_name("aorta").type, classify_name("aortic_valve").subtype
    ('vascular', 'valvular')
    >>> classify_name("heart").subtype, classify_name("kidney_left").type
    ('cardiac', 'visceral')
    >>> classify_name("vertebrae_L1").bone, classify_name("gluteus_maximus_left").type
    (True, 'soft_tissue')
    """
    lowered = name.lower()
    for pattern, rule in _RULES:
        if pattern.search(lowered):
            if rule.bone:
                return Typing("soft_tissue", name, bone=True, reason=rule.reason)
            return Typing(rule.type, name, rule.subtype)
    return Typing("soft_tissue", name)


def _side(name: str) -> str:
    for side in ("left", "right"):
        if side in name:
            return side
    return ""


def find_joint(nearby: dict[str, float], *, joint_mm: float = JOINT_MM) -> str | None:
    """Joint name when two bones of a joint (same side) are both within ``joint_mm``.

    Parameters
    ----------
    nearby : dict
        Bone class name → distance (mm) from the lesion.

    Examples
    --------
    >>> find_joint({"humerus_left": 4.0, "scapula_left": 9.0})
    'left shoulder'
    >>> find_joint({"humerus_left": 4.0, "scapula_right": 9.0}) is None
    True
    """
    close = [n for n, d in nearby.items() if d <= joint_mm]
    for joint, a, b in _JOINTS:
        for first in (n for n in close if re.search(a, n)):
            for second in (n for n in close if re.search(b, n)):
                side_a, side_b = _side(first), _side(second)
                if side_a == side_b or not side_a or not side_b:
                    return f"{side_a or side_b} {joint}".strip()
    return None


def skin_depth_mm(body: np.ndarray, *, pixel_spacing_mm: tuple[float, float]) -> np.ndarray:
    """In-plane depth below the body surface (mm) of every pixel of one slice (0 outside).

    The image border counts as outside the body.

    Examples
    --------
    >>> body = np.zeros((20, 20), bool); body[2:18, 2:18] = True
    >>> float(skin_depth_mm(body, pixel_spacing_mm=(1.0, 1.0))[4, 10])
    3.0
    """
    inside = np.pad(body, 1)
    depth = ndimage.distance_transform_edt(inside, sampling=pixel_spacing_mm)
    return depth[1:-1, 1:-1].astype(np.float32)


def type_lesion(lesion: np.ndarray, *, skin_distance_mm: float,
                spacing_mm: tuple[float, float, float], anatomy: np.ndarray | None = None,
                names: dict[int, str] | None = None, skin_mm: float = SKIN_MM,
                joint_mm: float = JOINT_MM, search_mm: float = SEARCH_MM) -> Typing:
    """Type one lesion.

    Parameters
    ----------
    lesion : ndarray of bool
        The lesion, in any crop of the CT grid that extends at least ``joint_mm`` beyond it
        (or the whole grid).
    skin_distance_mm : float
        Smallest depth of the lesion below the body surface (see :func:`skin_depth_mm`).
    spacing_mm : (float, float, float)
        Voxel size (slice increment, row spacing, column spacing).
    anatomy : ndarray of int, optional
        Label map, same crop as ``lesion``.
    names : dict, optional
        Label value → TotalSegmentator class name.

    Examples
    --------
    >>> lesion = np.zeros((3, 30, 30), bool); lesion[1, 12, 15] = True
    >>> type_lesion(lesion, skin_distance_mm=2.0, spacing_mm=(3.0, 1.0, 1.0)).type
    'cutaneous'
    >>> anatomy = np.zeros(lesion.shape, int); anatomy[:, 12:18, 12:18] = 1
    >>> type_lesion(lesion, skin_distance_mm=9.0, spacing_mm=(3.0, 1.0, 1.0),
    ...             anatomy=anatomy, names={1: "aorta"})
    Typing(type='vascular', structure='aorta', subtype=None, bone=False, reason=None)
    >>> anatomy[:] = 0; anatomy[:, :, :10] = 2; anatomy[:, :, 20:] = 3
    >>> type_lesion(lesion, skin_distance_mm=9.0, spacing_mm=(3.0, 1.0, 1.0), anatomy=anatomy,
    ...             names={2: "humerus_left", 3: "scapula_left"})
    Typing(type='periarticular', structure='left shoulder', subtype=None, bone=False, reason=None)
    """
    region = None
    if anatomy is not None and names:
        values = anatomy[lesion]
        values = values[values > 0]
        distance = ndimage.distance_transform_edt(~lesion, sampling=spacing_mm)
        nearest: dict[str, float] = {}
        for value in np.unique(anatomy[anatomy > 0]):
            name = names.get(int(value), f"label_{int(value)}")
            nearest[name] = min(nearest.get(name, np.inf),
                                float(distance[anatomy == value].min()))
        if values.size:
            region = names.get(int(np.bincount(values).argmax()))
        else:
            # Only soft-tissue classes are borrowed: next to a bone is not inside it.
            within = {n: d for n, d in nearest.items()
                      if d <= search_mm and not classify_name(n).bone}
            region = min(within, key=within.__getitem__) if within else None
        typing = classify_name(region) if region else None
        if typing is not None and (typing.bone or typing.type != "soft_tissue"):
            return typing
        joint = find_joint({n: d for n, d in nearest.items() if classify_name(n).bone},
                           joint_mm=joint_mm)
        if joint:
            return Typing("periarticular", joint)
    if skin_distance_mm <= skin_mm:
        return Typing("cutaneous", region)
    return Typing("soft_tissue", region)


def _swap_axes() -> np.ndarray:
    """Permutation between array order (slice, row, column) and affine order (column, row,
    slice), homogeneous."""
    return np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1.0]])


def resample_nearest(labels: np.ndarray, label_affine: np.ndarray, shape: tuple[int, ...],
                     affine: np.ndarray, *, source: str | Path = "label map") -> np.ndarray:
    """Put a label map onto a CT grid by nearest neighbour, through both affines.

    Parameters
    ----------
    labels : ndarray, shape (slices, rows, columns)
        The label map on its own grid.
    label_affine, affine : ndarray, shape (4, 4)
        ``(column, row, slice, 1)`` → LPS mm of the label map and of the CT.
    shape : tuple
        CT array shape.
    source : str or Path
        Named in the error message.

    Raises
    ------
    InputError
        The label map does not cover the CT volume (a different scan or field of view).

    Examples
    --------
    The same grid returns the map unchanged; a map at half the resolution is upsampled:

    >>> lab = np.arange(8).reshape(2, 2, 2)
    >>> same = resample_nearest(lab, np.eye(4), (2, 2, 2), np.eye(4))
    >>> bool((same == lab).all())
    True
    >>> fine = resample_nearest(lab, np.diag([2, 2, 2, 1.0]), (4, 4, 4), np.eye(4))
    >>> int(fine[3, 3, 3]), int(fine[0, 0, 2]), int(fine[0, 0, 0])
    (7, 1, 0)
    """
    if labels.shape == tuple(shape) and np.allclose(label_affine, affine, atol=1e-3):
        return labels.astype(np.int32, copy=False)
    swap = _swap_axes()
    to_label = swap @ np.linalg.inv(label_affine) @ affine @ swap
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, shape[2] - 1)]) @ to_label.T
    limits = np.asarray(labels.shape) - 0.5
    if np.any(corners[:, :3] < -0.5 - 1e-3) or np.any(corners[:, :3] > limits + 1e-3):
        raise InputError(source, "shape", f"label map (shape {labels.shape}) does not cover the "
                         f"CT volume (shape {tuple(shape)}) in patient space; it must be a "
                         "segmentation of this scan")
    return ndimage.affine_transform(labels.astype(np.int32, copy=False), to_label[:3, :3],
                                    offset=to_label[:3, 3], output_shape=tuple(shape), order=0,
                                    mode="nearest")
