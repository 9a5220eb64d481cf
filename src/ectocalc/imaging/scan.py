"""The ``ectocalc scan`` pipeline: load → masks → lesions → types → result (→ files).

:func:`analyse` is pure (a :class:`CTVolume` in, a result and a lesion label map out);
:func:`quantify` adds reading the inputs and writing the optional output files.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from ectocalc.errors import InputError
from ectocalc.imaging._components import SLAB_SLICES, zeros
from ectocalc.imaging._knowledge import imaging_knowledge
from ectocalc.imaging.anatomy import (
    JOINT_MM,
    SEARCH_MM,
    SKIN_MM,
    Typing,
    artery_of,
    classify_name,
    report_region,
    skin_depth_mm,
    type_lesion,
)
from ectocalc.imaging.bodymodel import BodyModel, Placement, build_body_model, place_lesion
from ectocalc.imaging.conventions import (
    DEFAULT_CONVENTION,
    Convention,
    factor_thresholds,
    parse_conventions,
)
from ectocalc.imaging.detect import (
    DEFAULT_BONE,
    BoneParameters,
    body_mask,
    bone_and_dense,
    bone_mask,
    find_opacified_lumen,
)
from ectocalc.imaging.io.load import load_ct, load_label_map
from ectocalc.imaging.measure import (
    DEFAULT_CALIBRATION,
    Measures,
    count_lesions,
    measure_flat,
    one_voxel_is_a_lesion,
)
from ectocalc.imaging.noise import NoiseVerdict, reject_noise
from ectocalc.imaging.volume import CTVolume
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import (
    ARTERIES,
    EXCLUSION_REASONS,
    REPORT_REGIONS,
    TYPE_ORDER,
    Lesion,
    RegionTotals,
    ScanAnatomy,
    ScanResult,
    TypeTotals,
)

ContrastPolicy = Literal["refuse", "lumen", "ignore"]
StageProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` callback of :func:`quantify`."""
LUMEN_SD = 3.0
"""Lumen-relative threshold: lumen mean + this many standard deviations."""
CALIBRATION_NOTE = ("default 0.78 mg HA/cm3/HU: typical 120 kVp values are about 0.7-0.8 "
                    "(references/imaging.md); give --calibration from a phantom for true mass")


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyse` returns: the result and the voxel map of its lesions."""

    result: ScanResult
    factor_thresholds_hu: tuple[float, float, float, float]
    shape: tuple[int, ...]
    """Shape of the CT."""
    lesion_voxels: tuple[np.ndarray, np.ndarray]
    """Flat indices of the voxels of the lesions and the ``Lesion.id`` of each (0: dropped)."""

    @cached_property
    def labels(self) -> np.ndarray:
        """Same shape as the CT: ``Lesion.id`` per voxel, 0 elsewhere; uint16 (uint32 beyond
        65535 lesions) to keep the map at most the size of an int16 CT. Painted on first use
        (only the output files need it)."""
        flat, ids = self.lesion_voxels
        labels = zeros(self.shape, np.uint16 if len(self.result.lesions) < 2**16 else np.uint32)
        labels.ravel()[flat] = ids
        return labels


def _bone_from_map(anatomy: np.ndarray, names: dict[int, str], *, margin_mm: float,
                   spacing_mm: tuple[float, float, float]) -> np.ndarray:
    values = [v for v, n in names.items() if classify_name(n).bone]
    bone = np.isin(anatomy, values)
    radius = [max(round(margin_mm / s), 0) for s in spacing_mm]
    if bone.any() and any(radius):
        bone = ndimage.binary_dilation(bone, structure=np.ones([2 * r + 1 for r in radius], bool))
    return bone


def _contrast_threshold(volume: CTVolume, *, body: np.ndarray, bone: np.ndarray,
                        spacing_mm: tuple[float, float, float], threshold_hu: float,
                        policy: ContrastPolicy, warnings: list[str], step: int,
                        dense: tuple[float, np.ndarray] | None = None,
                        blood: tuple[float, float, float] | None = None) -> float:
    """Detection threshold after the contrast check (refusal raises :class:`InputError`).

    Contrast is recognised from ContrastBolusAgent, from an opacified lumen, or from the
    blood pool of the anatomy model (``blood``: mean HU, SD and volume in cm3 of the aortic
    and cardiac cores) averaging above ``contrast_from_blood.enhanced_above_hu`` (unenhanced
    blood is 30-60 HU; an arterial phase reaches 250-300 HU, Bae 2010)."""
    rule = imaging_knowledge().contrast_from_blood
    enhanced_pool = (blood is not None and blood[2] >= rule.min_volume_cm3
                     and blood[0] > rule.enhanced_above_hu)
    grid = (slice(None), slice(None, None, step), slice(None, None, step))
    lumen = find_opacified_lumen(
        volume.hu[grid], spacing_mm=(spacing_mm[0], spacing_mm[1] * step, spacing_mm[2] * step),
        body=body[grid], bone=bone[grid], dense=dense if step == 1 else None)
    source = volume.source or "CT"
    if volume.contrast_agent:
        why, field = f"ContrastBolusAgent is '{volume.contrast_agent}'", "ContrastBolusAgent"
    elif lumen is not None:
        why = (f"an opacified lumen was found ({lumen.volume_mm3 / 1000:.1f} cm3 at mean "
               f"{lumen.mean_hu:.0f} HU)")
        field = "image"
    elif enhanced_pool:
        assert blood is not None
        why = (f"the blood pool (aorta, heart) averages {blood[0]:.0f} HU, above the "
               f"{rule.enhanced_above_hu:g} HU of unenhanced blood")
        field = "image"
    else:
        coverage = volume.hu.shape[0] * spacing_mm[0]
        if coverage < DEFAULT_BONE.short_coverage_mm:
            warnings.append(f"contrast could not be checked on the image: the scan covers only "
                            f"{coverage:g} mm, too little to find an opacified lumen, and no "
                            f"ContrastBolusAgent is recorded; on a contrast scan, enhanced "
                            f"vessels and organs are scored as calcium (check the overlays)")
        return threshold_hu
    if policy == "ignore":
        warnings.append(f"contrast-enhanced scan suspected ({why}); scored at the plain "
                        "threshold because --contrast ignore was given: check every lesion")
        return threshold_hu
    if policy == "refuse":
        raise InputError(source, field, f"contrast-enhanced CT ({why}): a fixed {threshold_hu:g}"
                         " HU threshold would count opacified blood as calcium; use a non-"
                         "contrast scan, or --contrast lumen for a lumen-relative threshold")
    if lumen is not None:
        mean, sd = lumen.mean_hu, lumen.std_hu
    elif enhanced_pool:
        assert blood is not None
        mean, sd = blood[0], blood[1]
    else:
        raise InputError(source, field, f"contrast-enhanced CT ({why}) but no opacified lumen "
                         "was found to derive a lumen-relative threshold")
    adjusted = max(threshold_hu, mean + LUMEN_SD * sd)
    warnings.append(f"contrast-enhanced scan ({why}): lumen-relative threshold "
                    f"{adjusted:.0f} HU (lumen mean {mean:.0f} + {LUMEN_SD:g} SD); "
                    "Agatston on contrast CT is not the validated score, compare with care")
    return adjusted


def _summary(convention: Convention, measures: Measures, threshold_hu: float) -> dict:
    return {"convention": convention.name, "description": convention.description,
            "threshold_hu": threshold_hu, "agatston": round(measures.total_agatston, 2),
            "volume_mm3": round(float(measures.volume_mm3.sum()), 2),
            "mass_mg": round(float(measures.mass_mg.sum()), 2), "lesion_count": measures.count}


def _identifiers(volume: CTVolume) -> dict[str, str | None]:
    """Study and series UIDs and PatientID of a DICOM input (None for NIfTI), so a record can
    file the result with its patient and study."""
    first = volume.source_datasets[0] if volume.source_datasets else {}
    keys = {"study_instance_uid": "StudyInstanceUID",
            "series_instance_uid": "SeriesInstanceUID", "patient_id": "PatientID"}
    return {key: (str(first.get(tag)) if first.get(tag) not in (None, "") else None)
            for key, tag in keys.items()}


def _study_date(volume: CTVolume, warnings: list[str]) -> date | None:
    """StudyDate of a DICOM input (None for NIfTI or when empty; a malformed date is ignored
    with a warning).

    Examples
    --------
    >>> from pydicom import Dataset
    >>> ds = Dataset(); ds.StudyDate = "20260314"
    >>> v = CTVolume(hu=np.zeros((1, 1, 1)), affine=np.eye(4), pixel_spacing_mm=(1, 1),
    ...              slice_increment_mm=1, source_datasets=[ds])
    >>> _study_date(v, [])
    datetime.date(2026, 3, 14)
    """
    raw = str((volume.source_datasets or [{}])[0].get("StudyDate", "") or "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        warnings.append(f"StudyDate '{raw}' is not a DICOM date (YYYYMMDD): ignored")
        return None


def _totals(measures: Measures, index: np.ndarray, make: type) -> Any:
    """Agatston, volume and mass summed over lesions ``index`` at full precision, rounded
    as shown (2, 2 and 3 decimals)."""
    return make(agatston=round(float(measures.agatston[index].sum()), 2),
                volume_mm3=round(float(measures.volume_mm3[index].sum()), 2),
                mass_mg=round(float(measures.mass_mg[index].sum()), 3))


def _skin_distance(body: np.ndarray, coords: tuple[np.ndarray, ...],
                   pixel_spacing_mm: tuple[float, float], *, reach_mm: float = SKIN_MM
                   ) -> float:
    """Smallest in-plane depth below the body surface of a lesion's voxels ``coords``.

    Exact up to ``reach_mm``: each slice is measured on a crop reaching more than
    ``reach_mm`` around the lesion (the image border still counts as outside), which holds
    the nearest outside pixel of any voxel shallower than that. Deeper lesions get a value
    above ``reach_mm`` (``inf`` when no outside pixel is within the crop). A value within
    rounding of ``reach_mm`` is recomputed on the whole slice (:func:`skin_depth_mm`).
    """
    zs, ys, xs = coords
    rows, columns = body.shape[1:]
    margin = [int(np.ceil(reach_mm / s)) + 1 for s in pixel_spacing_mm]
    y0, y1 = max(int(ys.min()) - margin[0], 0), min(int(ys.max()) + margin[0] + 1, rows)
    x0, x1 = max(int(xs.min()) - margin[1], 0), min(int(xs.max()) + margin[1] + 1, columns)
    # One pixel of "outside" where the crop meets the image border, as skin_depth_mm pads.
    pads = ((int(y0 == 0), int(y1 == rows)), (int(x0 == 0), int(x1 == columns)))
    skin = np.inf
    for k in np.unique(zs):
        on = zs == k
        inside = np.pad(body[k, y0:y1, x0:x1], pads)
        if inside.all():
            continue  # nothing outside the body within reach of this slice's voxels
        depth = ndimage.distance_transform_edt(inside, sampling=pixel_spacing_mm)
        values = depth[ys[on] - y0 + pads[0][0], xs[on] - x0 + pads[1][0]]
        skin = min(skin, float(values.astype(np.float32).min()))
    if abs(skin - reach_mm) < 1e-6:  # at the threshold: the whole-slice computation decides
        skin = min(float(skin_depth_mm(body[k], pixel_spacing_mm=pixel_spacing_mm)
                         [ys[zs == k], xs[zs == k]].min()) for k in np.unique(zs))
    return skin


def _type_all(measures: Measures, *, body: np.ndarray, spacing_mm: tuple[float, float, float],
              anatomy: np.ndarray | None, names: dict[int, str] | None,
              model: BodyModel) -> list[tuple[Typing, Placement]]:
    """Type and place every lesion of ``measures``, each on a crop just large enough for the
    rules: the label map's class (when it names one) decides, else the built-in model."""
    reach = max(JOINT_MM, SEARCH_MM) if anatomy is not None else 0.0
    margin = [int(np.ceil(reach / s)) for s in spacing_mm]
    order = np.argsort(measures.ids, kind="stable")
    bounds = np.searchsorted(measures.ids[order], np.arange(1, measures.count + 2))
    # Thoracic or abdominal: the label map's lungs when it has them, else the model's chest.
    lung_values = [v for v, n in (names or {}).items() if "lung" in n.lower()]
    if anatomy is not None and lung_values:
        chest_slices = np.isin(anatomy, lung_values).any(axis=(1, 2))
    else:
        chest_slices = np.array([r == "chest" for r in model.slice_regions])
    typed = []
    for i in range(measures.count):
        coords = np.unravel_index(measures.flat[order[bounds[i]:bounds[i + 1]]], measures.shape)
        wide = tuple(slice(max(int(c.min()) - m, 0), min(int(c.max()) + 1 + m, n))
                     for c, m, n in zip(coords, margin, measures.shape, strict=True))
        mask = np.zeros([w.stop - w.start for w in wide], dtype=bool)
        mask[tuple(c - w.start for c, w in zip(coords, wide, strict=True))] = True
        skin = _skin_distance(body, coords, spacing_mm[1:])
        typing = type_lesion(mask, skin_distance_mm=skin, spacing_mm=spacing_mm,
                             anatomy=None if anatomy is None else anatomy[wide], names=names)
        chest = bool(chest_slices[np.unique(coords[0])].any())
        if typing.bone:
            placement = Placement("non_vascular", typing.reason or "bone")
        elif typing.structure and (typing.type != "soft_tissue"
                                   or classify_name(typing.structure).type != "soft_tissue"):
            placement = Placement(report_region(typing.structure, chest=chest))
        else:
            placement = place_lesion(model, coords,
                                     max_diameter_mm=float(measures.max_diameter_mm[i]),
                                     skin_mm=skin)
        typed.append((typing, placement))
    return typed


def _region_typing(typing: Typing, region: str) -> tuple[str, str | None]:
    """Type and subtype of a lesion placed in ``region``: the vascular regions are vascular
    (valves and annulus valvular) whatever the skin rule said."""
    if region == "non_vascular" or typing.type == "vascular":
        return typing.type, typing.subtype
    return "vascular", "valvular" if region in ("aortic_valve", "mitral_annulus") else None


def _anatomy_info(model: BodyModel, source: str, anatomy: np.ndarray | None,
                  names: dict[int, str] | None) -> ScanAnatomy:
    """The ``anatomy`` block: source, body regions, whether the heart is in the field."""
    heart = model.heart_in_field
    if anatomy is not None and names:
        cardiac = [v for v, n in names.items() if report_region(n, chest=True) in
                   ("coronary", "aortic_valve", "mitral_annulus")]
        heart = heart or bool(cardiac and np.isin(anatomy, cardiac).any())
    note = None
    if not heart:
        shown = ", ".join(model.body_regions) or "no recognisable body region"
        note = (f"no coronary or cardiac score: the heart is not in the field of view "
                f"(the scan shows {shown})")
    return ScanAnatomy(source=source, body_regions=model.body_regions, heart_in_field=heart,
                       note=note)


def _by_region(measures: Measures, kept: np.ndarray, regions: list[str],
               arteries: list[str | None], heart: bool) -> dict[str, RegionTotals | None]:
    """Totals per reporting region (``coronary`` null without the heart in the field), with
    Agatston per artery where the anatomy named every coronary lesion's artery."""
    out: dict[str, RegionTotals | None] = {}
    where = np.array(regions, dtype=object)
    for region in REPORT_REGIONS:
        index = kept[where == region] if len(kept) else kept
        if region == "coronary" and not heart:
            out[region] = None
            continue
        totals = _totals(measures, index, RegionTotals)
        if region == "coronary":
            named = [a for a, r in zip(arteries, regions, strict=True) if r == "coronary"]
            if named and all(named):
                which = np.array(arteries, dtype=object)
                totals.by_artery = {
                    a: round(float(measures.agatston[kept[(where == region)
                                                          & (which == a)]].sum()), 2)
                    for a in ARTERIES}
        out[region] = totals
    return out


def _noise_notes(rejected: int, noise: NoiseVerdict, conventions: Sequence[Convention],
                 volume: CTVolume) -> list[str]:
    """Warnings of the noise test (``rejected`` lesions it removed) and of a minimum lesion
    size that one voxel meets."""
    notes = []
    if rejected:
        notes.append(f"{rejected} lesion(s) not significantly above the threshold "
                     f"given the image noise (local SD about {noise.noise_sd_hu:.0f} HU) "
                     "were not scored (excluded as noise)")
    elif noise.unmeasured:
        notes.append("the image noise could not be measured near any candidate (no "
                     "homogeneous tissue): no candidate was tested against noise")
    meaningless = [c.name for c in conventions if one_voxel_is_a_lesion(
        c, pixel_spacing_mm=volume.pixel_spacing_mm, increment_mm=volume.slice_increment_mm)]
    if meaningless:
        row, column = volume.pixel_spacing_mm
        notes.append(f"one voxel ({row:g} x {column:g} mm, {volume.slice_increment_mm:g} mm "
                     f"apart) already meets the minimum lesion size of {', '.join(meaningless)}"
                     ": the size rule removes no noise here; only the noise test does")
    return notes


def _candidate_voxels(hu: np.ndarray, threshold_hu: float, body: np.ndarray,
                      bone: np.ndarray) -> np.ndarray:
    """Sorted flat indices of ``(hu >= threshold_hu) & body & ~bone``, a slab at a time."""
    plane = int(np.prod(hu.shape[1:]))
    found = []
    for start in range(0, hu.shape[0], SLAB_SLICES):
        stop = min(start + SLAB_SLICES, hu.shape[0])
        mask = hu[start:stop] >= threshold_hu
        mask &= body[start:stop]
        mask &= ~bone[start:stop]
        found.append(np.flatnonzero(mask) + start * plane)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def analyse(volume: CTVolume, *, anatomy: np.ndarray | None = None,
            names: dict[int, str] | None = None, kvp: float | None = None,
            conventions: Sequence[Convention] | None = None, calibration: float | None = None,
            contrast: ContrastPolicy = "refuse",
            bone_params: BoneParameters = DEFAULT_BONE,
            anatomy_source: str | None = None) -> Analysis:
    """Quantify calcification on one CT volume.

    Parameters
    ----------
    volume : CTVolume
    anatomy : ndarray of int, optional
        Label map on the CT grid; ``names`` maps its values to TotalSegmentator classes.
    names : dict of int to str, optional
    kvp : float, optional
        Overrides the volume's kVp for the threshold table.
    conventions : sequence of Convention, optional
        The first is the primary (fills the contract fields); default ``agatston-1990``.
    calibration : float, optional
        c_HA in mg HA·cm⁻³·HU⁻¹ (default 0.78, stated in the output).
    contrast : {"refuse", "lumen", "ignore"}
        What to do with a contrast-enhanced scan.
    bone_params : BoneParameters
        Tuning of the map-free bone exclusion.
    anatomy_source : str, optional
        Where the label map came from (the ``anatomy.source`` of the result); default
        "label map" with a map, "built-in" without.

    Returns
    -------
    Analysis

    Raises
    ------
    InputError
        Contrast-enhanced scan under ``contrast="refuse"``.
    """
    conventions = list(conventions or parse_conventions(DEFAULT_CONVENTION))
    warnings = list(volume.warnings)
    kvp_used = kvp if kvp is not None else volume.kvp
    thresholds, table_kvp, kvp_warning = factor_thresholds(kvp_used)
    if kvp_warning:
        warnings.append(kvp_warning)
    calibration_source = CALIBRATION_NOTE if calibration is None else "given (--calibration)"
    if calibration is None:
        calibration = DEFAULT_CALIBRATION
        if kvp_used is not None and abs(kvp_used - 120) > 1:
            warnings.append(f"mass uses a 120 kVp calibration at {kvp_used:g} kVp; give "
                            "--calibration measured at this tube voltage")
    spacing = (volume.slice_increment_mm, *volume.pixel_spacing_mm)
    hu = volume.hu
    # Body, bone and lumen are large structures: a ~0.7 mm grid finds them as well, faster.
    step = max(1, int(0.7 // min(volume.pixel_spacing_mm)))
    body = body_mask(hu, step=step)
    if step == 1:  # keep the dense voxels: the lumen check and the candidates are among them
        bone, dense = bone_and_dense(hu, threshold_hu=thresholds[0], spacing_mm=spacing,
                                     body=body, params=bone_params, notes=warnings)
    else:
        bone, dense = bone_mask(hu, threshold_hu=thresholds[0], spacing_mm=spacing, body=body,
                                params=bone_params, step=step, notes=warnings), None
    if anatomy is not None and names:
        bone |= _bone_from_map(anatomy, names, margin_mm=bone_params.margin_mm,
                               spacing_mm=spacing)
    model = build_body_model(hu, body=body, bone=bone, threshold_hu=thresholds[0],
                             pixel_spacing_mm=volume.pixel_spacing_mm,
                             increment_mm=volume.slice_increment_mm,
                             superior=bool(volume.affine[2, 2] >= 0))
    threshold = _contrast_threshold(
        volume, body=body, bone=bone, spacing_mm=spacing, threshold_hu=thresholds[0],
        policy=contrast, warnings=warnings, step=step,
        dense=None if dense is None else (thresholds[0], dense), blood=model.blood_hu)
    shift = threshold - thresholds[0]
    factor_bounds = tuple(t + shift for t in thresholds)
    if dense is None:
        candidates = _candidate_voxels(hu, threshold, body, bone)
    else:  # threshold >= thresholds[0]: the candidates are dense voxels outside bone
        keep = hu.ravel()[dense] >= threshold
        keep &= ~bone.ravel()[dense]
        candidates = dense[keep]
    del bone, dense
    noise = reject_noise(hu, candidates, threshold_hu=threshold, spacing_mm=spacing)
    # Counted as the primary convention's lesions: specks its size rule drops anyway are not.
    noise_lesions = count_lesions(hu.shape, np.setdiff1d(candidates, noise.kept,
                                                         assume_unique=True),
                                  convention=conventions[0],
                                  pixel_spacing_mm=volume.pixel_spacing_mm,
                                  increment_mm=volume.slice_increment_mm)
    candidates = noise.kept
    warnings.extend(_noise_notes(noise_lesions, noise, conventions, volume))

    summaries = []
    measures = None
    for c in conventions:
        m = measure_flat(
            hu, candidates, convention=c, factor_thresholds_hu=factor_bounds,
            pixel_spacing_mm=volume.pixel_spacing_mm, increment_mm=volume.slice_increment_mm,
            thickness_mm=volume.slice_thickness_mm, affine=volume.affine,
            calibration=calibration)
        summaries.append(_summary(c, m, threshold))
        if measures is None:  # only the primary keeps its voxels
            measures = m
    del candidates
    if any(c.slice_correction == "thickness" for c in conventions) and \
            volume.slice_thickness_mm is None:
        warnings.append("SliceThickness unknown: thickness-corrected conventions use the "
                        "slice increment")
    primary = conventions[0]
    typed = _type_all(measures, body=body, spacing_mm=spacing, anatomy=anatomy, names=names,
                      model=model)
    del body
    info = _anatomy_info(model, anatomy_source or ("built-in" if anatomy is None
                                                   else "label map"), anatomy, names)
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    excluded["device"] = model.devices
    excluded["bone"] = model.bone_components
    excluded["noise"] = noise_lesions
    new_id = np.zeros(measures.count + 1, dtype=np.int32)  # dropped lesions map to 0
    lesions: list[Lesion] = []
    centroids = volume.index_to_lps(measures.centroid_index) if measures.count else []
    regions: list[str] = []
    arteries: list[str | None] = []
    map_bone = 0
    for i, (typing, placement) in enumerate(typed):
        if placement.excluded:
            excluded[placement.excluded] += 1
            map_bone += typing.bone
            continue
        region = placement.region
        if region == "coronary" and not info.heart_in_field:
            region = "non_vascular"
        kind, subtype = _region_typing(typing, region)
        artery = artery_of(typing.structure) if region == "coronary" else None
        regions.append(region)
        arteries.append(artery)
        new_id[i + 1] = len(lesions) + 1
        lesions.append(Lesion(
            id=len(lesions) + 1, centroid_mm=tuple(round(float(v), 2) for v in centroids[i]),
            volume_mm3=round(float(measures.volume_mm3[i]), 2),
            mass_mg=round(float(measures.mass_mg[i]), 3),
            peak_hu=round(float(measures.peak_hu[i]), 1),
            agatston=round(float(measures.agatston[i]), 2), type=kind, region=region,
            artery=artery, structure=typing.structure, subtype=subtype,
            slices=measures.slices[i],
            max_diameter_mm=round(float(measures.max_diameter_mm[i]), 2),
            density_factor=int(measures.factor[i])))
    if map_bone:
        warnings.append(f"{map_bone} dense region(s) inside bone classes of the anatomy map "
                        "excluded as bone")
    # Totals are sums of the full-precision lesion values, rounded once for display.
    kept = np.flatnonzero(new_id[1:])
    kinds = np.array([x.type for x in lesions])
    by_type = {t: _totals(measures, kept[kinds == t], TypeTotals) for t in TYPE_ORDER}
    totals = _totals(measures, kept, dict)
    summaries[0].update(totals, lesion_count=len(lesions))  # after map-bone removal
    result = ScanResult(
        convention=primary.name, threshold_hu=round(threshold, 1), kvp=kvp_used,
        slice_increment_mm=round(volume.slice_increment_mm, 4),
        pixel_spacing_mm=tuple(round(s, 4) for s in volume.pixel_spacing_mm),
        calibration_mg_per_cm3_per_hu=calibration,
        **totals, lesions=lesions, by_type=by_type, warnings=warnings, source=volume.source,
        factor_thresholds_hu=list(factor_bounds), threshold_table_kvp=table_kvp,
        calibration_source=calibration_source,
        acquisition={"kvp": volume.kvp, "slice_thickness_mm": volume.slice_thickness_mm,
                     "slice_increment_mm": volume.slice_increment_mm, "kernel": volume.kernel,
                     "contrast_agent": volume.contrast_agent,
                     "manufacturer": volume.manufacturer, "shape": list(hu.shape),
                     **_identifiers(volume)},
        conventions=summaries if len(summaries) > 1 else [],
        study_date=_study_date(volume, warnings), anatomy=info,
        by_region=_by_region(measures, kept, regions, arteries, info.heart_in_field),
        excluded=excluded,
    )

    return Analysis(result=result, factor_thresholds_hu=factor_bounds, shape=hu.shape,
                    lesion_voxels=(measures.flat, new_id[measures.ids]))


def _writers(volume: CTVolume, analysis: Analysis) -> list[tuple[str, Callable[[Path], Any]]]:
    """The files this result gets, as ``(output key, write(folder))``; files the input cannot
    have (no lesions, NIfTI input, no frame of reference) are skipped with a plain warning."""
    from ectocalc.imaging.writers import csv, overlay, seg, sr
    from ectocalc.imaging.writers._common import blank_uids, missing_type2

    result = analysis.result
    steps: list[tuple[str, Callable[[Path], Any]]] = [
        ("csv", lambda d: csv.write_lesion_csv(result, d / "lesions.csv"))]
    sources = volume.source_datasets
    blank = blank_uids(volume)
    if not sources:
        result.warnings.append("NIfTI input: DICOM SEG and SR not written (they reference "
                               "DICOM source images)")
    elif blank:
        result.warnings.append(f"DICOM SEG and SR not written: the CT images have an empty "
                               f"{', '.join(blank)}, which they must reference")
    else:
        missing = missing_type2(volume)
        if missing:
            result.warnings.append(f"the CT images lack {', '.join(missing)} (DICOM Type 2: "
                                   "may be empty); the SEG and SR carry them empty")
        if not result.lesions:
            result.warnings.append("no lesions: no DICOM SEG written (it needs a segment); "
                                   "the SR reports the zero score")
        elif not sources[0].get("FrameOfReferenceUID"):
            result.warnings.append("no DICOM SEG written: the CT images have no "
                                   "FrameOfReferenceUID, which a SEG must reference; the SR "
                                   "reports the totals without segment references")
        else:
            steps.append(("seg", lambda d: seg.write_seg(volume, analysis.labels, result,
                                                         d / "seg.dcm")))
        steps.append(("sr", lambda d: sr.write_sr(
            volume, result, d / "seg.dcm" if (d / "seg.dcm").exists() else None,
            d / "sr.dcm", labels=analysis.labels)))
    steps.append(("overlay_png", lambda d: overlay.write_overlays(
        volume, analysis.labels, result, d,
        factor_thresholds_hu=analysis.factor_thresholds_hu)))
    return steps


def _write_outputs(volume: CTVolume, analysis: Analysis, out_dir: Path, *,
                   source: Path) -> None:
    """Write the run's files (CSV, SEG, SR, overlays, ``scan.json``) as one folder.

    The folder replaces ``out_dir`` whole (:func:`~ectocalc.imaging.writers.folder.
    replace_folder`); a writer that fails fails the run and leaves ``out_dir`` as it was.
    """
    from ectocalc import __version__
    from ectocalc.imaging.io.load import input_digest
    from ectocalc.imaging.writers.folder import replace_folder

    result = analysis.result
    out_dir = Path(os.path.abspath(out_dir))
    steps = _writers(volume, analysis)

    def fill(staging: Path) -> list[str]:
        outputs: dict[str, str | list[str]] = {}
        for key, write in steps:
            try:
                written = write(staging)
            except Exception as error:
                raise InputError(out_dir, key, f"could not be written ({type(error).__name__}: "
                                 f"{' '.join(str(error).split())}); nothing was written"
                                 ) from None
            final = [str(out_dir / Path(p).name) for p in
                     (written if isinstance(written, list) else [written])]
            outputs[key] = final if isinstance(written, list) else final[0]
        outputs["json"] = str(out_dir / "scan.json")
        result.outputs = outputs
        atomic_write(staging / "scan.json",
                     lambda tmp: tmp.write_text(result.model_dump_json(indent=2)))
        return sorted(p.name for p in staging.iterdir())

    replace_folder(out_dir, fill, manifest={
        "tool": "ectocalc scan", "version": __version__, "input": str(source),
        "input_sha256": input_digest(source), "convention": result.convention})


TOTALSEGMENTATOR = "TotalSegmentator"
"""The TotalSegmentator command (``pip install ectocalc[totalsegmentator]`` plus its
weights) that ``--anatomy auto`` runs."""


def _map_source(path: Path) -> str:
    """``anatomy.source`` of a label map given by the user."""
    if path.is_dir():
        return "label map (totalsegmentator folder)"
    return "label map (NIfTI)" if path.name.endswith((".nii", ".nii.gz")) else \
        "label map (DICOM SEG)"


def _run_totalsegmentator(path: Path, volume: CTVolume
                          ) -> tuple[np.ndarray, dict[int, str]]:
    """``--anatomy auto``: run TotalSegmentator on the input and read the per-structure
    masks it writes (:func:`~ectocalc.imaging.io.load.load_label_map` on its folder).

    Raises
    ------
    InputError
        TotalSegmentator is not installed, fails, or the input is a ``.zip`` (it reads a
        DICOM folder or a NIfTI).
    """
    import shutil
    import subprocess
    import tempfile

    command = shutil.which(TOTALSEGMENTATOR)
    if command is None:
        raise InputError("--anatomy", "auto", "TotalSegmentator is not installed (pip install "
                         "'ectocalc[totalsegmentator]' and its weights); give a label map "
                         "or leave --anatomy out for the built-in anatomy")
    if path.suffix.lower() == ".zip":
        raise InputError(path, "--anatomy auto", "TotalSegmentator reads a DICOM folder or a "
                         "NIfTI, not a .zip: unpack the series first")
    with tempfile.TemporaryDirectory(prefix="ectocalc-ts-") as out:
        run = subprocess.run([command, "-i", str(path), "-o", out], capture_output=True,
                             text=True, check=False)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no message"])[-1]
            raise InputError("--anatomy", "auto", f"TotalSegmentator failed (exit "
                             f"{run.returncode}): {last[:200]}")
        return load_label_map(out, volume)


def _check_out(out_dir: Path, source: Path) -> None:
    """Refuse an output folder that is, holds or lies inside the input."""
    out, given = Path(os.path.abspath(out_dir)), Path(os.path.abspath(source))
    if out == given or out in given.parents or given in out.parents:
        raise InputError(out_dir, "--out", f"is or overlaps the input {source}; the output "
                         "folder replaces its contents: give another folder")


def quantify(path: str | Path, *, anatomy: str | Path | None = None,
             anatomy_names: str | Path | None = None, kvp: float | None = None,
             convention: str = DEFAULT_CONVENTION, calibration: float | None = None,
             out_dir: str | Path | None = None, contrast: ContrastPolicy = "refuse",
             progress: StageProgress | None = None) -> ScanResult:
    """Read a CT (and optional anatomy map), quantify it, and optionally write files.

    Parameters
    ----------
    path : str or Path
        DICOM series folder, ``.zip`` of one, or NIfTI.
    anatomy, anatomy_names : str or Path, optional
        Label map (NIfTI, a TotalSegmentator folder of masks, or DICOM SEG) and its
        NAMES.json; ``"auto"`` runs TotalSegmentator when installed. Without one the
        built-in anatomy model is used.
    kvp : float, optional
        Tube voltage for the threshold table when the data lack or misstate it.
    convention : str
        One name, a comma-separated list (first = primary) or ``all``.
    calibration : float, optional
        c_HA in mg HA·cm⁻³·HU⁻¹.
    out_dir : str or Path, optional
        Receives ``lesions.csv``, ``seg.dcm``, ``sr.dcm``, overlay PNGs, ``scan.json`` and
        ``manifest.json``, written as one folder that replaces the previous run's.
    contrast : {"refuse", "lumen", "ignore"}
        Policy for contrast-enhanced scans.
    progress : callable, optional
        ``progress(stage, done, total)``: slices decoded ("loading CT"), then one step each
        for "analysing" and "writing outputs".

    Returns
    -------
    ScanResult

    Raises
    ------
    InputError
        Unreadable or unsuitable input (the CLI prints one line and exits 2).
    """
    try:
        chosen = parse_conventions(convention)
    except KeyError as error:
        raise InputError("--convention", "", str(error.args[0])) from None
    if calibration is not None and not calibration > 0:
        raise InputError("--calibration", "", f"must be positive, got {calibration}")
    if kvp is not None and not 40 <= kvp <= 160:
        raise InputError("--kvp", "", f"{kvp:g} is not a CT tube voltage (40-160 kVp)")
    if anatomy_names is not None and anatomy is None:
        raise InputError("--anatomy-names", "", "given without --anatomy")
    auto = anatomy is not None and str(anatomy) == "auto"
    if auto and anatomy_names is not None:
        raise InputError("--anatomy-names", "", "not used with --anatomy auto")
    if out_dir is not None:
        _check_out(Path(out_dir), Path(path))
    report = progress or (lambda stage, done, total: None)
    # pydicom, highdicom and nibabel warn about non-conforming values, quoting them (patient
    # names among them): never printed; what matters is checked and reported in `warnings`.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        volume = load_ct(path, progress=lambda done, total: report("loading CT", done, total))
        source = None
        if auto:
            labels, names = _run_totalsegmentator(Path(path), volume)
            source = "totalsegmentator (auto)"
        elif anatomy is not None:
            labels, names = load_label_map(anatomy, volume, names_path=anatomy_names)
            source = _map_source(Path(anatomy))
        else:
            labels, names = None, None
        report("analysing", 0, 1)
        analysis = analyse(volume, anatomy=labels, names=names, kvp=kvp, conventions=chosen,
                           calibration=calibration, contrast=contrast, anatomy_source=source)
        report("analysing", 1, 1)
        if out_dir is not None:
            report("writing outputs", 0, 1)
            _write_outputs(volume, analysis, Path(out_dir), source=Path(path))
            report("writing outputs", 1, 1)
    return analysis.result
