"""Named calcium-scoring conventions and tube-voltage-adjusted density thresholds.

Public implementations of the Agatston score disagree on lesion connectivity, minimum lesion
size, slice-spacing correction and how the density factor is chosen (references/imaging.md,
"Where public implementations differ"). Each of those decisions is data
(``knowledge/data/imaging.yaml``), so one scan can be scored under several conventions side by
side and every result names its rule set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ectocalc.imaging._knowledge import imaging_knowledge

_KB = imaging_knowledge()
KVP_FACTOR_THRESHOLDS: dict[int, tuple[float, float, float, float]] = {
    row.kvp: row.factors_hu for row in _KB.kvp_thresholds.rows}
"""Gräni 2018: lower HU bounds of density factors 1/2/3/4 by tube voltage (kVp), from
``knowledge/data/imaging.yaml``."""
DEFAULT_KVP = _KB.kvp_thresholds.default_kvp


@dataclass(frozen=True)
class Convention:
    """One rule set for turning thresholded voxels into lesions and scores.

    Parameters
    ----------
    name : str
        Stable identifier used on the command line and in the output.
    dims : {2, 3}
        2 = lesions are connected regions within one axial slice; 3 = connected in 3D.
    connectivity : int
        Neighbourhood: 4 or 8 in 2D, 6, 18 or 26 in 3D.
    min_size : float
        Smallest lesion kept, in ``min_size_unit``.
    min_size_unit : {"mm2", "mm3", "voxels"}
        Unit of ``min_size``: in-slice area, volume, or voxel (pixel) count.
    min_inclusive : bool
        True keeps lesions of exactly ``min_size`` (``>=``); False requires ``>``.
    slice_correction : {"increment", "thickness", None}
        Multiply the score by increment/3 mm, nominal thickness/3 mm, or not at all.
    weighting : {"slice", "lesion"}
        ``slice``: each in-slice piece is weighted by its own peak HU (Agatston 1990);
        ``lesion``: the whole 3D lesion is weighted by its 3D peak.
    description : str
        One line saying where the rule set comes from.
    source : str
        Bibliography id of the rule set.
    """

    name: str
    dims: Literal[2, 3]
    connectivity: int
    min_size: float
    min_size_unit: Literal["mm2", "mm3", "voxels"]
    min_inclusive: bool
    slice_correction: Literal["increment", "thickness"] | None
    weighting: Literal["slice", "lesion"]
    description: str
    source: str


CONVENTIONS: dict[str, Convention] = {
    c.name: Convention(c.name, c.dims, c.connectivity, c.min_size, c.min_size_unit,
                       c.min_inclusive,
                       None if c.slice_correction == "none" else c.slice_correction,
                       c.weighting, c.description, c.source)
    for c in _KB.conventions
}
"""The named conventions of ``knowledge/data/imaging.yaml``, in file order."""
DEFAULT_CONVENTION = _KB.default_convention


def get_convention(name: str) -> Convention:
    """Look a convention up by name.

    Raises
    ------
    KeyError
        With the list of known names when ``name`` is unknown.

    Examples
    --------
    >>> get_convention("comp2comp").connectivity
    4
    """
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise KeyError(f"unknown convention {name!r}; known: {', '.join(CONVENTIONS)}") from None


def parse_conventions(spec: str) -> list[Convention]:
    """Conventions named in a comma-separated list, or all of them for ``"all"``.

    The first one named is the primary (its result fills the contract-shaped output).

    Examples
    --------
    >>> [c.name for c in parse_conventions("comp2comp, agatston-1990")]
    ['comp2comp', 'agatston-1990']
    >>> parse_conventions("all")[0].name
    'agatston-1990'
    """
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names == ["all"]:
        return list(CONVENTIONS.values())
    if not names:
        raise KeyError(f"no convention named; known: {', '.join(CONVENTIONS)}")
    return [get_convention(n) for n in dict.fromkeys(names)]


Thresholds = tuple[float, float, float, float]


def factor_thresholds(kvp: float | None) -> tuple[Thresholds, int, str | None]:
    """Density-factor lower bounds for a tube voltage (Gräni 2018).

    Parameters
    ----------
    kvp : float or None
        Tube voltage. ``None`` assumes 120 kVp; a value not in the table uses the nearest row.

    Returns
    -------
    thresholds : tuple of 4 floats
        Lower HU bounds of factors 1, 2, 3, 4; the first is the detection threshold.
    table_kvp : int
        The table row used.
    warning : str or None
        Why the row differs from the data, when it does.

    Examples
    --------
    >>> factor_thresholds(100)[0]
    (145.0, 222.0, 334.0, 446.0)
    >>> factor_thresholds(140)[1:]
    (135, 'kVp 140 is not in the Gräni 2018 table; thresholds of the nearest row (135 kVp) used')
    >>> factor_thresholds(None)[1]
    120
    """
    if kvp is None:
        return (KVP_FACTOR_THRESHOLDS[DEFAULT_KVP], DEFAULT_KVP,
                "kVp unknown; 120 kVp thresholds assumed (give --kvp to override)")
    nearest = min(KVP_FACTOR_THRESHOLDS, key=lambda k: (abs(k - kvp), k))
    warning = None
    if abs(nearest - kvp) > 1e-6:
        warning = (f"kVp {kvp:g} is not in the Gräni 2018 table; thresholds of the nearest row "
                   f"({nearest} kVp) used")
    return KVP_FACTOR_THRESHOLDS[nearest], nearest, warning


def density_factor(peak_hu: float, thresholds: tuple[float, float, float, float]) -> int:
    """Agatston density factor 1–4 from a lesion's peak HU (0 below the first bound).

    Examples
    --------
    >>> t = (130.0, 200.0, 300.0, 400.0)
    >>> [density_factor(h, t) for h in (129, 130, 199, 200, 299, 300, 399, 400, 1500)]
    [0, 1, 1, 2, 2, 3, 3, 4, 4]
    """
    return sum(peak_hu >= t for t in thresholds)
