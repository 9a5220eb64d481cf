"""Serum supersaturation with respect to calcium phosphate phases, computed with PHREEQC.

A computed physicochemical index, not a calcification propensity (T50) measurement.
"""

from ectocalc.chemistry.engine import (
    DEFAULT_DATABASE,
    PHASE_IDS,
    SUPPORTED_DATABASES,
    ChemistryError,
    SpeciationResult,
    saturation_indices,
)
from ectocalc.chemistry.serum import LABEL, ChemistryOutcome, reading, serum_chemistry

__all__ = [
    "DEFAULT_DATABASE",
    "LABEL",
    "PHASE_IDS",
    "SUPPORTED_DATABASES",
    "ChemistryError",
    "ChemistryOutcome",
    "SpeciationResult",
    "reading",
    "saturation_indices",
    "serum_chemistry",
]
