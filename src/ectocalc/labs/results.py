"""From a raw lab entry to a validated :class:`LabResult`, and from results to flagged reports.

Both case loaders (case file and FHIR) go through :func:`make_lab_result`, so a value is
checked and converted the same way whatever its origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date as Date

from ectocalc.errors import InputError
from ectocalc.labs.catalogue import (
    Analyte,
    analyte,
    convert,
    find_analyte,
    flag_value,
    kept_unit,
    load_catalogue,
)
from ectocalc.model.assessment import Alert, LabReport
from ectocalc.model.case import Case, LabResult


def make_lab_result(
    *,
    source: str,
    field: str,
    value: object,
    unit: str | None,
    analyte_name: str | None = None,
    loinc: str | None = None,
    date: Date | None = None,
    reference_range: tuple[float, float] | None = None,
    field_names: dict[str, str] | None = None,
) -> LabResult:
    """Resolve the analyte, check the value and convert it to the canonical unit.

    Raises :class:`InputError` (naming ``source`` and the field) for an unknown analyte, an
    unconvertible unit, a non-numeric or impossible value. Fields are named
    ``{field}.value``, ``{field}.unit``, ``{field}.analyte``, ``{field}.loinc`` and
    ``{field}.reference_range`` unless ``field_names`` maps those keys to the input's own paths.

    Examples
    --------
    >>> r = make_lab_result(source="c.yaml", field="labs[0]", analyte_name="calcium",
    ...                     value=2.1, unit="mmol/L")
    >>> r.analyte, round(r.canonical_value, 2), r.canonical_unit
    ('calcium', 8.42, 'mg/dL')
    """
    def at(key: str) -> str:
        return (field_names or {}).get(key, f"{field}.{key}")

    entry = _resolve(source, at, analyte_name, loinc)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(source, at("value"), f"value must be a finite number, got {value!r}")
    if unit is None:
        if "" not in entry.units:
            raise InputError(source, at("unit"), f"unit is required for {entry.id}")
        unit = ""
    try:
        canonical = convert(float(value), unit, entry)
    except ValueError as error:
        raise InputError(source, at("unit"), str(error)) from None
    canonical_unit = kept_unit(unit, entry)
    low, high = entry.possible
    if not low <= canonical <= high:
        raise InputError(
            source, at("value"),
            f"{entry.id} {value} {unit} is physiologically impossible "
            f"(accepted {low:g}–{high:g} {entry.canonical_unit})",
        )
    converted_range = None
    if reference_range is not None:
        if not all(math.isfinite(x) for x in reference_range):
            raise InputError(source, at("reference_range"), "bounds must be finite numbers")
        lo, hi = (convert(float(x), unit, entry) for x in reference_range)
        if lo > hi:
            raise InputError(source, at("reference_range"), "low bound is above high bound")
        converted_range = (lo, hi)
    return LabResult(
        analyte=entry.id, value=float(value), unit=unit, canonical_value=canonical,
        canonical_unit=canonical_unit, loinc=loinc, date=date, reference_range=converted_range,
    )


def _resolve(source: str, at: Callable[[str], str], name: str | None,
             loinc: str | None) -> Analyte:
    by_name = find_analyte(name) if name else None
    by_loinc = find_analyte(loinc) if loinc else None
    if name and by_name is None:
        raise InputError(source, at("analyte"), f"unknown analyte '{name}'")
    if loinc and by_loinc is None:
        raise InputError(source, at("loinc"), f"LOINC {loinc} is not a supported analyte")
    if by_name and by_loinc and by_name.id != by_loinc.id:
        raise InputError(source, at("loinc"), f"LOINC {loinc} is {by_loinc.id}, not {by_name.id}")
    found = by_name or by_loinc
    if found is None:
        raise InputError(source, at("analyte"), "a lab needs 'analyte' or 'loinc'")
    return found


def report_labs(case: Case) -> list[LabReport]:
    """One report per analyte (its latest result), flagged against the range that applies.

    A laboratory-supplied range wins over the catalogue's typical adult interval.
    """
    catalogue = load_catalogue()
    reports = []
    for analyte_id in catalogue.analytes:
        result = case.latest(analyte_id)
        if result is None:
            continue
        entry = analyte(analyte_id)
        own_unit = result.canonical_unit != entry.canonical_unit  # assay unit kept as given
        if result.reference_range is not None:
            reference, origin = result.reference_range, "laboratory"
        elif own_unit:
            reference, origin = None, "none: assay-specific unit"
        else:
            reference = entry.reference_for(case.patient.sex)
            origin = catalogue.sources["typical"]
            if entry.reference_check:
                origin += " [check]"
            if reference is None:
                origin = entry.reference_note or "no typical interval"
        si_value = si_unit = None
        if entry.si is not None and not own_unit:
            si_value, si_unit = round(result.canonical_value * entry.si.factor, 4), entry.si.unit
        reports.append(LabReport(
            analyte=analyte_id, label=entry.label, value=result.value, unit=result.unit,
            canonical_value=round(result.canonical_value, 4), canonical_unit=result.canonical_unit,
            si_value=si_value, si_unit=si_unit, reference_range=reference,
            reference_source=origin,
            flag=flag_value(result.canonical_value, reference,
                            None if own_unit else entry.critical),
            date=result.date, loinc=result.loinc,
        ))
    return reports


def lab_alerts(reports: Iterable[LabReport]) -> list[Alert]:
    """Alerts for critical values and for implausible (possible but unusual) values."""
    sources = load_catalogue().sources
    alerts = []
    for report in reports:
        entry = analyte(report.analyte)
        shown = f"{report.label} {report.value:g} {report.unit}".rstrip()
        if report.flag.startswith("critical"):
            alerts.append(Alert(
                id=f"critical_{report.analyte}", severity="critical",
                message=f"{shown} is beyond the critical limit: act now, confirm with the "
                        "laboratory",
                source=sources["critical"],
            ))
        low, high = entry.plausible
        if not low <= report.canonical_value <= high:
            alerts.append(Alert(
                id=f"implausible_{report.analyte}", severity="warning",
                message=f"{shown} is outside the plausible range "
                        f"({low:g}–{high:g} {entry.canonical_unit}): check unit and sample",
                source=sources["limits"],
            ))
    return alerts
