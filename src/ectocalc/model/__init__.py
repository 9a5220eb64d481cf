"""The typed domain model: cases in, assessments and scan results out."""

from ectocalc.model.assessment import (
    Alert,
    Assessment,
    Derivation,
    Derived,
    LabReport,
    Mechanism,
    MechanismScore,
    MonitoringItem,
    PlanItem,
    SyndromeItem,
    TypeItem,
)
from ectocalc.model.case import (
    Case,
    Condition,
    Finding,
    GeneticFinding,
    LabResult,
    Medication,
    Patient,
    ScanRef,
)
from ectocalc.model.display import for_display, reported, rounded
from ectocalc.model.scan import Lesion, ScanResult, TypeTotals

__all__ = [
    "Alert", "Assessment", "Case", "Condition", "Derivation", "Derived", "Finding",
    "GeneticFinding", "LabReport", "LabResult", "Lesion", "Mechanism", "MechanismScore",
    "Medication", "MonitoringItem", "Patient", "PlanItem", "ScanRef", "ScanResult",
    "SyndromeItem", "TypeItem", "TypeTotals", "for_display", "reported", "rounded",
]
