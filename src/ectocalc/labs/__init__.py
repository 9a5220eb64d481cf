"""Laboratory values: the analyte catalogue, published equations, flagged reports, derived indices.

The catalogue itself is data (``knowledge/data/analytes.yaml``, :class:`Catalogue`, reached as
``knowledge.analytes``); the functions here take the knowledge bundle explicitly.

Examples
--------
>>> from ectocalc.knowledge import load_knowledge
>>> entry = load_knowledge().analytes.find("2777-1")
>>> entry.id, round(convert(1.0, "mmol/L", entry), 3)
('phosphate', 3.097)
>>> gfr_category(egfr_ckd_epi_2021_creatinine(1.4, age_years=60, sex="male"))
'G3a'
"""

from ectocalc.labs.catalogue import (
    Analyte,
    Catalogue,
    convert,
    default_catalogue,
    flag_value,
    kept_unit,
    unit_key,
)
from ectocalc.labs.derive import derive
from ectocalc.labs.equations import (
    ADULT_AGE_YEARS,
    albuminuria_category,
    calcium_phosphate_product,
    corrected_calcium_mg_dl,
    egfr_ckd_epi_2012_cystatin,
    egfr_ckd_epi_2021_creatinine,
    egfr_ckd_epi_2021_creatinine_cystatin,
    egfr_schwartz_bedside,
    gfr_category,
    tubular_phosphate_reabsorption,
)
from ectocalc.labs.results import lab_alerts, lab_conflicts, make_lab_result, report_labs

__all__ = [
    "ADULT_AGE_YEARS", "Analyte", "Catalogue", "albuminuria_category",
    "calcium_phosphate_product", "convert", "corrected_calcium_mg_dl", "default_catalogue",
    "derive", "egfr_ckd_epi_2012_cystatin", "egfr_ckd_epi_2021_creatinine",
    "egfr_ckd_epi_2021_creatinine_cystatin", "egfr_schwartz_bedside", "flag_value",
    "gfr_category", "kept_unit", "lab_alerts", "lab_conflicts", "make_lab_result",
    "report_labs", "tubular_phosphate_reabsorption", "unit_key",
]
