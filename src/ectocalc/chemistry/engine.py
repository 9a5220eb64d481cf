"""Speciation of a serum ultrafiltrate with PHREEQC and saturation indices of calcium phosphates.

The thermodynamics is PHREEQC's (the ``phreeqc`` wheel, IPhreeqc); this module only writes the
solution, names the phases and reads the answer back. Each saturation index is
``log10(IAP / Ksp)`` for one formula unit *as the phase is written* (see :data:`PHASE_IDS` and
``docs/chemistry.md``): indices of phases with different formula units are not comparable.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass

from phreeqc import Phreeqc

DEFAULT_DATABASE = "minteq.v4.dat"

PHASE_IDS: tuple[str, ...] = (
    "hydroxyapatite",
    "octacalcium_phosphate",
    "beta_tcp",
    "brushite",
    "amorphous_calcium_phosphate",
)
"""The phases reported, in the order of the contract's ``saturation_index`` object."""

DOROZHKIN_2010 = "Dorozhkin 2010, Materials 3:3994, Table 3, -log Ksp at 37 °C"


@dataclass(frozen=True)
class Phase:
    """A phase as PHREEQC knows it: its name in the input and where its constant comes from."""

    name: str
    formula: str
    source: str
    definition: str = ""
    """A PHASES entry to add to the run; empty for a phase the database defines."""


def _defined(name: str, reaction: str, log_k: float, formula: str, note: str) -> Phase:
    # No delta_h: PHREEQC then keeps log_k at every temperature, and the constant is the 37 °C one.
    block = f"{name}\n    {reaction}\n    log_k {log_k}\n    delta_h 0\n"
    return Phase(name, formula, f"defined here: {note} ({DOROZHKIN_2010})", block)


# Half unit cells for hydroxyapatite and OCP, so that the defined phases have the same formula
# units as the minteq.v4 ones and the indices stay on one scale whichever source a phase has.
_FALLBACK: dict[str, Phase] = {
    "hydroxyapatite": _defined(
        "ec_hydroxyapatite", "Ca5(PO4)3OH = 5 Ca+2 + 3 PO4-3 + OH-", -58.6, "Ca5(PO4)3OH",
        "pKsp 117.2 for Ca10(PO4)6(OH)2, halved"),
    "octacalcium_phosphate": _defined(
        "ec_octacalcium_phosphate", "Ca4H(PO4)3:2.5H2O = 4 Ca+2 + H+ + 3 PO4-3 + 2.5 H2O",
        -47.95, "Ca4H(PO4)3·2.5H2O",
        "pKsp 95.9 for Ca8H2(PO4)6·5H2O as [Ca]^8[H]^2[PO4]^6, halved"),
    "beta_tcp": _defined(
        "ec_beta_tcp", "Ca3(PO4)2 = 3 Ca+2 + 2 PO4-3", -29.5, "Ca3(PO4)2", "pKsp 29.5"),
    "brushite": _defined(
        "ec_brushite", "CaHPO4:2H2O = Ca+2 + HPO4-2 + 2 H2O", -6.63, "CaHPO4·2H2O", "pKsp 6.63"),
    "amorphous_calcium_phosphate": _defined(
        "ec_amorphous_calcium_phosphate", "Ca3(PO4)2 = 3 Ca+2 + 2 PO4-3", -25.7, "Ca3(PO4)2",
        "pKsp 25.7 measured at pH 7.40, Ca3(PO4)2 stoichiometry assumed"),
}


def _native(db: str, name: str, formula: str) -> Phase:
    return Phase(name, formula, f"{db} phase '{name}'")


# Phases each supported database defines itself; the rest come from _FALLBACK.
_NATIVE: dict[str, dict[str, Phase]] = {
    "minteq.v4.dat": {
        "hydroxyapatite": _native("minteq.v4.dat", "Hydroxylapatite", "Ca5(PO4)3OH"),
        "octacalcium_phosphate": _native("minteq.v4.dat", "Ca4H(PO4)3:3H2O", "Ca4H(PO4)3·3H2O"),
        "beta_tcp": _native("minteq.v4.dat", "Ca3(PO4)2(beta)", "Ca3(PO4)2"),
        "brushite": _native("minteq.v4.dat", "CaHPO4:2H2O", "CaHPO4·2H2O"),
    },
    "minteq.dat": {"hydroxyapatite": _native("minteq.dat", "Hydroxyapatite", "Ca5(PO4)3OH")},
    "phreeqc.dat": {"hydroxyapatite": _native("phreeqc.dat", "Hydroxyapatite", "Ca5(PO4)3OH")},
    "wateq4f.dat": {"hydroxyapatite": _native("wateq4f.dat", "Hydroxyapatite", "Ca5(PO4)3OH")},
}

SUPPORTED_DATABASES: tuple[str, ...] = tuple(_NATIVE)


def phases(database: str = DEFAULT_DATABASE) -> dict[str, Phase]:
    """The phase used for each reported mineral with ``database``.

    Examples
    --------
    >>> phases()["brushite"].name
    'CaHPO4:2H2O'
    >>> phases()["amorphous_calcium_phosphate"].source.startswith("defined here")
    True
    """
    if database not in _NATIVE:
        raise ValueError(
            f"database {database!r} is not supported; use one of {', '.join(SUPPORTED_DATABASES)}")
    return {pid: _NATIVE[database].get(pid, _FALLBACK[pid]) for pid in PHASE_IDS}


@dataclass(frozen=True)
class SpeciationResult:
    """What PHREEQC says about one ultrafiltrate.

    Attributes
    ----------
    saturation_index : dict of str to float
        ``log10(IAP/Ksp)`` per phase id of :data:`PHASE_IDS`; > 0 supersaturated.
    ionic_strength : float
        Ionic strength, mol/kg water.
    free_calcium_mmol_l : float
        Free (uncomplexed) Ca²⁺, mmol/L.
    chloride_mmol_l : float
        Chloride (mmol/L) used: the given value, or the one that makes the solution electroneutral.
    database : str
        The PHREEQC database file.
    temperature_c : float
        Temperature of the calculation, °C.
    phase_sources : dict of str to str
        For each phase id, its formula unit and where its solubility constant comes from.
    """

    saturation_index: dict[str, float]
    ionic_strength: float
    free_calcium_mmol_l: float
    chloride_mmol_l: float
    database: str
    temperature_c: float
    phase_sources: dict[str, str]


class ChemistryError(RuntimeError):
    """PHREEQC found no solution for this composition (e.g. the model did not converge)."""


_STAND_IN_ANION = ("SOLUTION_MASTER_SPECIES\n    Xa Xa- 0 Xa 35.45\n"
                   "SOLUTION_SPECIES\n    Xa- = Xa-\n    log_k 0\n")
"""An inert, non-complexing monovalent anion (``balance_unmeasured_anion``)."""


class _Engine:
    """One PHREEQC instance with a database loaded; a lock because IPhreeqc is not thread-safe."""

    def __init__(self, database: str) -> None:
        self.phreeqc = Phreeqc()
        if self.phreeqc.LoadBuiltInDatabase(database):
            raise RuntimeError(f"PHREEQC could not load {database}: "
                               f"{self.phreeqc.GetErrorString().strip()}")
        self.lock = threading.Lock()
        # Defined once, PHREEQC keeps them for later runs (redefining species costs ~3 ms a
        # run): the inert stand-in anion Xa- and the phases the database lacks.
        definitions = "".join(p.definition for p in phases(database).values())
        self.run(_STAND_IN_ANION + (f"PHASES\n{definitions}" if definitions else "") + "END\n",
                 table=False)

    def run(self, text: str, *, table: bool = True) -> dict[str, float]:
        with self.lock:
            if self.phreeqc.RunString(text):
                raise ChemistryError(
                    f"PHREEQC failed: {self.phreeqc.GetErrorString().strip()}")
            output = self.phreeqc.GetSelectedOutput() if table else {}
        return {column: float(values[-1]) for column, values in output.items()}


@functools.cache
def _engine(database: str) -> _Engine:
    # Loading a database costs ~20 ms; a run ~2 ms. Load once per process and database.
    return _Engine(database)


def _positive(name: str, value: float, *, zero_ok: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def saturation_indices(
    *,
    calcium_mmol_l: float,
    phosphate_mmol_l: float,
    magnesium_mmol_l: float,
    bicarbonate_mmol_l: float,
    ph: float,
    sodium_mmol_l: float = 140.0,
    potassium_mmol_l: float = 4.5,
    chloride_mmol_l: float | None = None,
    temperature_c: float = 37.0,
    database: str = DEFAULT_DATABASE,
    balance_unmeasured_anion: bool = False,
) -> SpeciationResult:
    """Saturation indices of calcium phosphates in a serum ultrafiltrate.

    Parameters
    ----------
    calcium_mmol_l, phosphate_mmol_l, magnesium_mmol_l : float
        Ultrafilterable (not total serum) calcium, phosphate (as P) and magnesium, mmol/L.
    bicarbonate_mmol_l : float
        Total dissolved inorganic carbon (total CO2), mmol/L.
    ph : float
        pH at ``temperature_c``, fixed during speciation.
    sodium_mmol_l, potassium_mmol_l : float
        Defaults are typical serum values.
    chloride_mmol_l : float, optional
        ``None`` (default): chloride is adjusted until the solution is electroneutral, standing
        in for every unmeasured anion. A number: used as given, with no charge balance unless
        ``balance_unmeasured_anion``.
    temperature_c : float
        Temperature, °C (default 37).
    database : str
        A PHREEQC database bundled with the wheel, one of :data:`SUPPORTED_DATABASES`.
    balance_unmeasured_anion : bool
        With a given chloride: an inert, non-complexing monovalent anion (``Xa-``, defined here)
        takes the charge balance, standing in for the anion gap (albumin, sulfate, organic
        anions) so that chloride keeps its physiological value and the ionic strength stays
        that of serum.

    Returns
    -------
    SpeciationResult

    Raises
    ------
    ValueError
        A concentration that is not positive, a pH outside 5–9 or an unsupported database.
    RuntimeError
        PHREEQC did not converge.

    Examples
    --------
    Normal serum ultrafiltrate at 37 °C:

    >>> r = saturation_indices(calcium_mmol_l=1.45, phosphate_mmol_l=1.1, magnesium_mmol_l=0.65,
    ...                        bicarbonate_mmol_l=24, ph=7.4)
    >>> round(r.saturation_index["hydroxyapatite"], 1), round(r.saturation_index["brushite"], 1)
    (8.8, -0.6)
    >>> round(r.free_calcium_mmol_l, 2)
    1.18
    """
    for name, value in (("calcium", calcium_mmol_l), ("phosphate", phosphate_mmol_l),
                        ("bicarbonate", bicarbonate_mmol_l), ("sodium", sodium_mmol_l)):
        _positive(name, value)
    for name, value in (("magnesium", magnesium_mmol_l), ("potassium", potassium_mmol_l)):
        _positive(name, value, zero_ok=True)
    if chloride_mmol_l is not None:
        _positive("chloride", chloride_mmol_l, zero_ok=True)
    if not 5.0 <= ph <= 9.0:
        raise ValueError(f"pH {ph} is outside 5–9")
    if not 0.0 <= temperature_c <= 60.0:
        raise ValueError(f"temperature {temperature_c} °C is outside 0–60")
    used = phases(database)
    # Electroneutrality on chloride: the ultrafiltrate model has no protein or organic anions.
    chloride = (f"Cl {chloride_mmol_l}" if chloride_mmol_l is not None
                else f"Cl {max(sodium_mmol_l - bicarbonate_mmol_l, 1.0)} charge")
    anion = "    Xa 10 charge\n" if balance_unmeasured_anion and chloride_mmol_l is not None else ""
    text = (
        "SOLUTION 1\n"
        + f"    temp {temperature_c}\n    pH {ph}\n    units mmol/L\n"
        + f"    Ca {calcium_mmol_l}\n    P {phosphate_mmol_l}\n    Mg {magnesium_mmol_l}\n"
        + f"    Na {sodium_mmol_l}\n    K {potassium_mmol_l}\n"
        + f"    C(4) {bicarbonate_mmol_l} as HCO3\n    {chloride}\n" + anion
        + "SELECTED_OUTPUT 1\n    -reset false\n    -ionic_strength true\n"
        + "    -molalities Ca+2\n    -totals Ca Cl\n"
        + "    -saturation_indices " + " ".join(p.name for p in used.values()) + "\n"
        + "END\n"
    )
    row = _engine(database).run(text)
    # PHREEQC works in mol/kg water; its mmol/L input fixes the litre-to-kilogram-water ratio.
    mmol_l_per_mol_kgw = calcium_mmol_l / row["Ca(mol/kgw)"]
    return SpeciationResult(
        saturation_index={pid: row[f"si_{p.name}"] for pid, p in used.items()},
        ionic_strength=row["mu"],
        free_calcium_mmol_l=mmol_l_per_mol_kgw * row["m_Ca+2(mol/kgw)"],
        chloride_mmol_l=mmol_l_per_mol_kgw * row["Cl(mol/kgw)"],
        database=database,
        temperature_c=temperature_c,
        phase_sources={pid: f"{p.formula}: {p.source}" for pid, p in used.items()},
    )
