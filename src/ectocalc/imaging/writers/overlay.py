"""PNG overlays a clinician can read: axial slices coloured by Agatston density factor and an
axial maximum-intensity projection coloured by calcification type.

Images are shown the radiological way (patient right on the image left, anterior up) with
the true aspect ratio from the pixel spacing. The anatomy is never covered: title above,
legend below the image.

Computation (windowing, factor maps, projections) is pure numpy; Pillow only draws and saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from ectocalc.imaging.conventions import density_factor
from ectocalc.imaging.volume import CTVolume
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import TYPE_ORDER, ScanResult

FACTOR_COLOURS: dict[int, tuple[int, int, int]] = {
    1: (86, 180, 233),   # sky blue
    2: (0, 200, 120),    # green
    3: (240, 200, 0),    # yellow
    4: (230, 40, 40),    # red
}
"""Fill colour of lesion pixels by Agatston density factor (1–4)."""
TYPE_COLOURS: dict[str, tuple[int, int, int]] = {
    "vascular": (230, 40, 40),
    "periarticular": (0, 114, 178),
    "cutaneous": (240, 160, 0),
    "visceral": (0, 170, 110),
    "soft_tissue": (204, 121, 167),
}
"""Fill colour of lesion pixels on the MIP by calcification type."""
SOFT_TISSUE_WINDOW = (40.0, 400.0)
"""Level and width (HU) of the axial images."""
BONE_WINDOW = (300.0, 1500.0)
"""Level and width (HU) of the MIP, where calcium and bone must stay distinct."""
TARGET_SIDE_PX = 768
"""Longer side of the displayed image in pixels (before title and legend)."""
HEADER_PX, FOOTER_PX = 28, 30
MAX_SLICE_IMAGES = 24
PNG_LEVEL = 1
"""zlib level of the PNG files: the fastest (Pillow's default, level 6, took 2.6 times as
long on the benchmark overlays, for files 9 % smaller)."""
MARKER_COLOUR = (255, 255, 0)
"""Orientation letters."""
GREY_LEVELS = 240
"""Grey levels of the saved images (palette PNG): 240 of the 256 display levels, a step
below what a monitor shows, leaving palette room for every overlay colour."""


def _palette_image() -> Image.Image:
    """The one palette of every overlay PNG: ``GREY_LEVELS`` greys from black to white, then
    the factor, type and marker colours."""
    colours = [(round(i * 255 / (GREY_LEVELS - 1)),) * 3 for i in range(GREY_LEVELS)]
    colours += sorted({*FACTOR_COLOURS.values(), *TYPE_COLOURS.values(), MARKER_COLOUR}
                      - set(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for colour in colours for v in colour])
    return palette


PALETTE = _palette_image()


def save_png(image: Image.Image, path: Path) -> None:
    """Save an overlay as a palette PNG: one byte per pixel instead of three, which encodes
    about 2.4 times faster; greys within half a display level, colours exact.

    Examples
    --------
    >>> import io
    >>> rgb = Image.new("RGB", (2, 1), (230, 40, 40)); rgb.putpixel((1, 0), (128, 128, 128))
    >>> buffer = io.BytesIO(); save_png(rgb, buffer)
    >>> list(Image.open(buffer).convert("RGB").getdata())
    [(230, 40, 40), (128, 128, 128)]
    """
    image.quantize(palette=PALETTE, dither=Image.Dither.NONE).save(
        path, format="PNG", compress_level=PNG_LEVEL)


def window(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    """Grey levels (uint8) of ``hu`` in a display window.

    Examples
    --------
    >>> window(np.array([-200.0, 40.0, 240.0]), 40, 400).tolist()
    [0, 128, 255]
    """
    low = level - width / 2.0
    return np.clip(np.rint((hu - low) / width * 255.0), 0, 255).astype(np.uint8)


def display_size(shape: tuple[int, int], spacing_mm: tuple[float, float],
                 target: int = TARGET_SIDE_PX) -> tuple[int, int]:
    """(width, height) in display pixels of an image of ``shape`` (rows, cols) with true aspect.

    Examples
    --------
    >>> display_size((60, 256), (3.0, 0.7), target=768)
    (765, 768)
    """
    height_mm, width_mm = shape[0] * spacing_mm[0], shape[1] * spacing_mm[1]
    scale = target / max(height_mm, width_mm)
    return max(1, round(width_mm * scale)), max(1, round(height_mm * scale))


def _display_flips(affine: np.ndarray) -> tuple[bool, bool]:
    """Flip columns / rows so that patient right is on the left and anterior is up."""
    return bool(affine[0, 0] < 0), bool(affine[1, 1] < 0)


def peak_slices(volume: CTVolume, labels: np.ndarray, ids: Sequence[int]) -> dict[int, int]:
    """Slice index of each lesion's peak-HU voxel.

    Examples
    --------
    >>> v = CTVolume(hu=np.array([[[200.0]], [[500.0]]]), affine=np.eye(4),
    ...              pixel_spacing_mm=(1, 1), slice_increment_mm=1)
    >>> peak_slices(v, np.array([[[3]], [[3]]]), [3])
    {3: 1}
    """
    # Work on the lesion voxels only: scipy's maximum_position sorts the whole volume.
    plane = labels.shape[1] * labels.shape[2]
    flat = np.concatenate([np.flatnonzero(labels[k]) + k * plane
                           for k in np.flatnonzero(labels.any(axis=(1, 2)))] or [[]]
                          ).astype(np.int64)
    owner = labels.reshape(-1)[flat]
    values = np.asarray(volume.hu).reshape(-1)[flat]
    order = np.lexsort((values, owner))  # by lesion, then HU ascending
    last = order[np.append(owner[order][1:] != owner[order][:-1], True)] if flat.size else []
    wanted = set(ids)
    return {int(owner[i]): int(flat[i] // plane) for i in last if int(owner[i]) in wanted}


def factor_map(hu_slice: np.ndarray, label_slice: np.ndarray,
               thresholds: Sequence[float]) -> np.ndarray:
    """Agatston density factor (1–4) of every lesion pixel of one slice, 0 elsewhere.

    Each lesion's factor comes from its peak HU within the slice (Agatston 1990).

    Examples
    --------
    >>> hu = np.array([[150.0, 450.0, 0.0, 250.0]])
    >>> factor_map(hu, np.array([[1, 1, 0, 2]]), (130, 200, 300, 400)).tolist()
    [[4, 4, 0, 2]]
    """
    ids = np.unique(label_slice[label_slice > 0])
    if ids.size == 0:
        return np.zeros(label_slice.shape, dtype=np.uint8)
    # Peaks over the lesion pixels only (ndimage.maximum sorts the whole slice).
    inside = label_slice > 0
    peaks = np.full(int(ids.max()) + 1, -np.inf)
    np.maximum.at(peaks, label_slice[inside], hu_slice[inside])
    lut = np.zeros(int(ids.max()) + 1, dtype=np.uint8)
    lut[ids] = [max(1, density_factor(float(p), tuple(thresholds))) for p in peaks[ids]]
    return lut[label_slice]


def axial_mip(volume: CTVolume, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-intensity projection along z and the lesion seen on each ray.

    Axial rather than coronal so that the patient table projects to a thin line instead of
    covering the whole image.

    Returns
    -------
    mip : ndarray, shape (rows, cols)
        Maximum HU along each ray.
    lesion : ndarray, shape (rows, cols)
        Id of the lesion owning the brightest lesion voxel on the ray, 0 if none.

    Examples
    --------
    >>> v = CTVolume(hu=np.array([[[300.0, 0.0]], [[900.0, 10.0]]]), affine=np.eye(4),
    ...              pixel_spacing_mm=(1, 1), slice_increment_mm=1)
    >>> [a.tolist() for a in axial_mip(v, np.array([[[1, 0]], [[2, 0]]]))]
    [[[900.0, 10.0]], [[2, 0]]]
    """
    mip = np.max(volume.hu, axis=0).astype(np.float32)  # max and rounding commute
    best = np.full(volume.hu.shape[1:], -np.inf, dtype=np.float32)
    lesion = np.zeros(volume.hu.shape[1:], dtype=labels.dtype)
    for k in np.flatnonzero(labels.any(axis=(1, 2))):  # slices with lesions, one at a time
        hu, lab = volume.hu[k], labels[k]
        brighter = (lab > 0) & (hu > best)
        best[brighter], lesion[brighter] = hu[brighter], lab[brighter]
    return mip, lesion


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _compose(grey: np.ndarray, colour_index: np.ndarray, palette: dict[int, tuple[int, int, int]],
             size: tuple[int, int], flips: tuple[bool, bool]) -> Image.Image:
    """Scale grey (bilinear) and colour index (nearest) to ``size`` and paint the colours."""
    if flips[0]:
        grey, colour_index = grey[:, ::-1], colour_index[:, ::-1]
    if flips[1]:
        grey, colour_index = grey[::-1], colour_index[::-1]
    base = Image.fromarray(np.ascontiguousarray(grey)).resize(size, Image.Resampling.BILINEAR)
    index = np.asarray(Image.fromarray(np.ascontiguousarray(colour_index.astype(np.uint8)))
                       .resize(size, Image.Resampling.NEAREST))
    rgb = np.repeat(np.asarray(base)[:, :, None], 3, axis=2)
    for value, colour in palette.items():
        rgb[index == value] = colour
    return Image.fromarray(rgb)


def _frame(image: Image.Image, title: str, legend: Sequence[tuple[tuple[int, int, int], str]],
           markers: tuple[str, str, str]) -> Image.Image:
    """Add a title strip, a legend strip and orientation letters (left, right, top)."""
    width, height = image.size
    canvas = Image.new("RGB", (width, height + HEADER_PX + FOOTER_PX), (0, 0, 0))
    canvas.paste(image, (0, HEADER_PX))
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 6), title, fill=(255, 255, 255), font=_font(14))
    small = _font(13)
    left, right, top = markers
    draw.text((4, HEADER_PX + height // 2), left, fill=MARKER_COLOUR, font=small)
    draw.text((width - 14, HEADER_PX + height // 2), right, fill=MARKER_COLOUR, font=small)
    draw.text((width // 2, HEADER_PX + 4), top, fill=MARKER_COLOUR, font=small)
    x, y = 6, HEADER_PX + height + 8
    for colour, text in legend:
        draw.rectangle((x, y, x + 14, y + 14), fill=colour)
        draw.text((x + 19, y), text, fill=(255, 255, 255), font=small)
        x += 28 + int(draw.textlength(text, font=small))
    return canvas


def _label_lesions(image: Image.Image, ids_at: dict[int, tuple[float, float]],
                   shape: tuple[int, int], flips: tuple[bool, bool]) -> None:
    """Write each lesion id beside the lesion (positions in source pixels: row, col)."""
    draw = ImageDraw.Draw(image)
    sx, sy = image.size[0] / shape[1], (image.size[1] - HEADER_PX - FOOTER_PX) / shape[0]
    font = _font(14)
    for lesion_id, (row, col) in ids_at.items():
        col = shape[1] - 1 - col if flips[0] else col
        row = shape[0] - 1 - row if flips[1] else row
        x, y = (col + 0.5) * sx + 8, HEADER_PX + (row + 0.5) * sy - 18
        draw.text((x, y), str(lesion_id), fill=(255, 255, 255), font=font,
                  stroke_width=2, stroke_fill=(0, 0, 0))


def _factor_legend(thresholds: Sequence[float]) -> list[tuple[tuple[int, int, int], str]]:
    bounds = [*list(thresholds), None]
    # ASCII only: the default bitmap-free font has no en dash or >= glyph.
    return [(FACTOR_COLOURS[f], f"factor {f}: {bounds[f - 1]:g}-{bounds[f] - 1:g} HU"
             if bounds[f] is not None else f"factor {f}: >={bounds[f - 1]:g} HU")
            for f in range(1, 5)]


def render_axial(volume: CTVolume, labels: np.ndarray, k: int, ids: Sequence[int],
                 thresholds: Sequence[float]) -> Image.Image:
    """One axial slice (soft-tissue window) with its lesion pixels coloured by density factor.

    ``ids`` are the lesions labelled with their id on this image.
    """
    hu, lab = volume.hu[k], labels[k]
    flips = _display_flips(volume.affine)
    size = display_size(hu.shape, volume.pixel_spacing_mm)
    image = _compose(window(hu, *SOFT_TISSUE_WINDOW), factor_map(hu, lab, thresholds),
                     FACTOR_COLOURS, size, flips)
    z = float(volume.index_to_lps(np.array([[k, 0, 0]]))[0, 2])
    level, width = SOFT_TISSUE_WINDOW
    title = (f"Slice {k + 1}/{volume.hu.shape[0]}  z = {z:.1f} mm  W{width:g}/L{level:g}  "
             f"lesion{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}")
    framed = _frame(image, title, _factor_legend(thresholds), ("R", "L", "A"))
    present = [i for i in ids if (lab == i).any()]
    centres = ndimage.center_of_mass(lab > 0, lab, present) if present else []
    _label_lesions(framed, dict(zip(present, centres, strict=True)), hu.shape, flips)
    return framed


def render_mip(volume: CTVolume, labels: np.ndarray, result: ScanResult) -> Image.Image:
    """Axial MIP (bone window) with every lesion coloured by its calcification type."""
    mip, lesion = axial_mip(volume, labels)
    type_index = {t: i + 1 for i, t in enumerate(TYPE_ORDER)}
    lut = np.zeros(int(max([0, lesion.max(initial=0)] + [x.id for x in result.lesions])) + 1,
                   dtype=np.uint8)
    for x in result.lesions:
        lut[x.id] = type_index[x.type]
    flips = _display_flips(volume.affine)
    size = display_size(mip.shape, volume.pixel_spacing_mm)
    palette = {type_index[t]: c for t, c in TYPE_COLOURS.items()}
    image = _compose(window(mip, *BONE_WINDOW), lut[lesion], palette, size, flips)
    level, width = BONE_WINDOW
    present = sorted({x.type for x in result.lesions}, key=TYPE_ORDER.index)
    legend = [(TYPE_COLOURS[t], t.replace("_", " ")) for t in present]
    framed = _frame(image, f"Axial MIP  W{width:g}/L{level:g}  {len(result.lesions)} lesions "
                           "by type", legend, ("R", "L", "A"))
    ids = [x.id for x in result.lesions if (lesion == x.id).any()]
    centres = ndimage.center_of_mass(lesion > 0, lesion, ids) if ids else []
    _label_lesions(framed, dict(zip(ids, centres, strict=True)), mip.shape, flips)
    return framed


def slice_groups(volume: CTVolume, labels: np.ndarray, result: ScanResult,
                 max_images: int = MAX_SLICE_IMAGES) -> dict[int, list[int]]:
    """Lesions grouped by the slice of their peak, at most ``max_images`` slices.

    The slices kept are those with the highest summed Agatston score; returned in slice order.
    """
    peaks = peak_slices(volume, labels, [x.id for x in result.lesions])
    groups: dict[int, list[int]] = {}
    for x in result.lesions:
        if x.id in peaks:
            groups.setdefault(peaks[x.id], []).append(x.id)
    score = {x.id: x.agatston for x in result.lesions}
    kept = sorted(groups, key=lambda k: -sum(score[i] for i in groups[k]))[:max_images]
    return {k: groups[k] for k in sorted(kept)}


def write_overlays(volume: CTVolume, labels: np.ndarray, result: ScanResult, out_dir: Path, *,
                   factor_thresholds_hu: Sequence[float],
                   max_images: int = MAX_SLICE_IMAGES) -> list[Path]:
    """Write the axial overlays (one per peak slice) and the axial MIP as PNG files.

    Parameters
    ----------
    volume : CTVolume
        The scored CT.
    labels : ndarray of int, same shape as ``volume.hu``
        Lesion id per voxel (0 = none).
    result : ScanResult
        Lesions (ids, types, Agatston scores).
    out_dir : Path
        Created if needed; receives ``slice_NNN.png`` files and ``mip_axial.png``.
    factor_thresholds_hu : sequence of 4 floats
        Lower HU bounds of density factors 1–4 (kVp-adjusted ones included).
    max_images : int
        Most axial images written; lesions sharing a peak slice share an image, and the
        slices with the highest Agatston sum are kept.

    Returns
    -------
    list of Path
        Axial images in slice order, then the MIP. Nothing is written without lesions.
    """
    if len(factor_thresholds_hu) != 4:
        raise ValueError("factor_thresholds_hu needs the 4 lower bounds of factors 1-4")
    if not result.lesions:
        return []
    out_dir = Path(out_dir)
    paths = []
    for k, ids in slice_groups(volume, labels, result, max_images).items():
        image = render_axial(volume, labels, k, ids, factor_thresholds_hu)
        paths.append(atomic_write(out_dir / f"slice_{k + 1:03d}.png",
                                  lambda tmp, im=image: save_png(im, tmp)))
    mip = render_mip(volume, labels, result)
    paths.append(atomic_write(out_dir / "mip_axial.png", lambda tmp: save_png(mip, tmp)))
    return paths
