"""Clinical scales built on calcification: MESA CHD risk, CAC-DRS, aortic valve calcium,
Kauppila AAC-24 and the Adragão score.

Pure functions of their published inputs (``mesa_chd_risk``, ``cac_drs_category``, ...) and of a
whole case (:func:`compute_scales`, :func:`scan_scales`). Coefficients, thresholds and wording
live in ``knowledge/data/scales.yaml``, each citing a bibliography id; docs/scales.md explains
each scale, its range and its check values.

Examples
--------
>>> round(mesa_chd_risk(age_years=70, sex="male", race_ethnicity="hispanic",
...     total_cholesterol_mg_dl=190, hdl_cholesterol_mg_dl=50, systolic_bp_mmhg=130,
...     bp_drug=True, cac_agatston=100), 2)
10.43
>>> cac_drs_label(cac_drs_category(250).id, 3)
'CAC-DRS A2/N3'
"""

from ectocalc.scales._case import (
    compute_scales,
    is_coronary,
    reported_coronary_agatston,
    scan_scales,
)
from ectocalc.scales._equations import (
    adragao_score,
    aortic_valve_severity,
    cac_drs_category,
    cac_drs_label,
    kauppila_score,
    mesa_chd_risk,
)
from ectocalc.scales._schema import ScalesFile, load_scales

__all__ = ["ScalesFile", "adragao_score", "aortic_valve_severity", "cac_drs_category",
           "cac_drs_label", "compute_scales", "is_coronary", "kauppila_score", "load_scales",
           "mesa_chd_risk", "reported_coronary_agatston", "scan_scales"]
