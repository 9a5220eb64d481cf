"""From a raw lab entry to a validated :class:`LabResult`, and from results to flagged reports.

Both case loaders (case file and FHIR) go through :func:`make_lab_result`, so a value is
checked and converted the same way whatever its origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date as Date
from datetime import datetime as DateTime
from typing import TYPE_CHECKING

from ectocalc.errors import InputError
from ectocalc.labs.catalogue import (
    Analyte,
    Catalogue,
    convert,
    default_catalogue,
    flag_value,
    kept_unit,
)
from ectocalc.model.assessment import Alert, LabReport
from ectocalc.model.case import DAYS_PER_YEAR, Case, LabResult

if TYPE_CHECKING:
    from ectocalc.knowledge import Knowledge


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
    taken_at: DateTime | None = None,
    field_names: dict[str, str] | None = None,
    comparator: str | None = None,
    catalogue: Catalogue | None = None,
    resource_id: str | None = None,
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

    entry = _resolve(catalogue or default_catalogue(), source, at, analyte_name, loinc)
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
        # 4 significant digits, the precision of the unit factors: 0.80725 mmol/L of
        # phosphate is shown as 2.5 mg/dL, not 2.50005.
        lo, hi = (float(f"{convert(float(x), unit, entry):.4g}") for x in reference_range)
        if lo > hi:
            raise InputError(source, at("reference_range"), "low bound is above high bound")
        converted_range = (lo, hi)
    return LabResult(
        analyte=entry.id, value=float(value), unit=unit, canonical_value=canonical,
        canonical_unit=canonical_unit, loinc=loinc, date=date, reference_range=converted_range,
        comparator=comparator, taken_at=taken_at, input_ref=field, resource_id=resource_id,
    )


def _resolve(catalogue: Catalogue, source: str, at: Callable[[str], str], name: str | None,
             loinc: str | None) -> Analyte:
    by_name = catalogue.find(name) if name else None
    by_loinc = catalogue.find(loinc) if loinc else None
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


def age_at_sample(case: Case, result: LabResult | None) -> float:
    """The patient's age when ``result`` was taken: reference intervals and equations use the
    age at the sample, not at the case date.

    ``age_years`` holds on the patient's (or the case's) date; a result dated earlier is taken
    that much younger. Without those dates the age is used as given.

    Examples
    --------
    >>> from datetime import date
    >>> from ectocalc.model.case import LabResult, Patient
    >>> old = LabResult(analyte="creatinine", value=1.0, unit="mg/dL", canonical_value=1.0,
    ...                 canonical_unit="mg/dL", date=date(2025, 3, 1))
    >>> case = Case(date=date(2026, 3, 1), patient=Patient(age_years=66.0), labs=[old])
    >>> round(age_at_sample(case, old), 2)
    65.0
    """
    age = case.patient.age_years
    assert age is not None
    reference = case.patient.date or case.date
    if result is None or result.date is None or reference is None or result.date >= reference:
        return age
    return max(age - (reference - result.date).days / DAYS_PER_YEAR, 0.0)


def report_labs(case: Case, *, knowledge: Knowledge) -> list[LabReport]:
    """One report per analyte (its latest result), flagged against the range that applies.

    A laboratory-supplied range wins over the catalogue's interval; under 18 the catalogue's
    age-partitioned (paediatric) interval at the age when the result was taken
    (:func:`age_at_sample`) applies, else the typical adult one. An undated result
    is current (as of the case date): it is never dropped in favour of an older dated one.
    """
    catalogue = knowledge.analytes
    reports = []
    for analyte_id in catalogue.analytes:
        result = case.latest(analyte_id)
        if result is None:
            continue
        entry = catalogue.analytes[analyte_id]
        own_unit = result.canonical_unit != entry.canonical_unit  # assay unit kept as given
        if result.reference_range is not None:
            reference, origin = result.reference_range, "laboratory"
        elif own_unit:
            reference, origin = None, "none: assay-specific unit"
        elif (partition := entry.age_partition(
                case.patient.sex, None if case.patient.age_years is None
                else age_at_sample(case, result))) is not None:
            # Children: the age- (and sex-) partitioned interval, never the adult one.
            assert entry.reference_by_age is not None
            reference = partition.range
            band = partition.label or f"{partition.age[0]:g} to <{partition.age[1]:g} y"
            origin = (f"{entry.reference_by_age.source}, age {band}"
                      + (f" {partition.sex}" if partition.sex else ""))
        else:
            reference = entry.reference_for(case.patient.sex)
            origin = catalogue.sources["typical"]
            if entry.reference_check:
                origin += " [check]"
            if reference is None:
                origin = entry.reference_note or "no typical interval"
        si_value = si_unit = None
        if entry.si is not None and not own_unit:
            si_value, si_unit = result.canonical_value * entry.si.factor, entry.si.unit
        reports.append(LabReport(
            analyte=analyte_id, label=entry.label, value=result.value, unit=result.unit,
            canonical_value=result.canonical_value, canonical_unit=result.canonical_unit,
            si_value=si_value, si_unit=si_unit, reference_range=reference,
            reference_source=origin,
            flag=flag_value(result.canonical_value, reference,
                            None if own_unit else entry.critical,
                            comparator=result.comparator),
            date=result.date, loinc=result.loinc, comparator=result.comparator,
            input_ref=result.input_ref, resource_id=result.resource_id,
        ))
    return reports


def implausible(reports: Iterable[LabReport], *, knowledge: Knowledge) -> frozenset[str]:
    """Analytes whose latest value lies outside the catalogue's plausible range.

    Such a value (albumin "3.9 g/L" meant as g/dL gives 0.39 g/dL) is kept in the report but is
    excluded from every calculation and rule (contract 1.1 ``implausible_value``).

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> albumin = make_lab_result(source="c", field="labs[0]", analyte_name="albumin",
    ...                           value=3.9, unit="g/L")
    >>> sorted(implausible(report_labs(Case(labs=[albumin]), knowledge=kb), knowledge=kb))
    ['albumin']
    """
    analytes = knowledge.analytes.analytes
    return frozenset(r.analyte for r in reports
                     if not analytes[r.analyte].plausible[0] <= r.canonical_value
                     <= analytes[r.analyte].plausible[1])


def without_analytes(case: Case, analytes: frozenset[str]) -> Case:
    """The case without any result of ``analytes`` (an implausible latest value is not used,
    and an older result is not silently used in its place either)."""
    if not analytes:
        return case
    return case.model_copy(update={"labs": [r for r in case.labs if r.analyte not in analytes]})


def lab_alerts(reports: Iterable[LabReport], *, knowledge: Knowledge,
               not_computed: Iterable[str] = ()) -> list[Alert]:
    """Alerts for critical values (``critical_value``) and implausible values
    (``implausible_value``, naming what was not computed without it: ``not_computed``).

    A critical value says what and how fast (today); one that is also implausible asks for a
    repeat today before acting on it.
    """
    sources = knowledge.analytes.sources
    skipped = ", ".join(not_computed)
    alerts = []
    for report in reports:
        entry = knowledge.analytes.analytes[report.analyte]
        value = (f"{report.comparator} {report.value:g}" if report.comparator
                 else f"{report.value:g}")
        shown = f"{report.label} {value} {report.unit}".rstrip()
        low, high = entry.plausible
        plausible = low <= report.canonical_value <= high
        if report.flag is not None and report.flag.startswith("critical"):
            action = ("act today: confirm with the laboratory and treat now (see the plan)"
                      if plausible else "it is also implausible: repeat the test today, before "
                      "acting on it")
            alerts.append(Alert(
                id="critical_value", severity="critical",
                message=f"{shown} is beyond the critical limit: {action}",
                source=sources["critical"],
            ))
        if not plausible:
            unused = f"; not computed: {skipped}" if skipped else ""
            alerts.append(Alert(
                id="implausible_value", severity="warning",
                message=f"{shown} is outside the plausible range "
                        f"({low:g}–{high:g} {entry.canonical_unit}): check unit and sample. "
                        f"Not used in any calculation or rule{unused}",
                source=sources["limits"],
            ))
    return alerts


def lab_conflicts(case: Case, *, knowledge: Knowledge) -> list[Alert]:
    """A visible warning for each analyte with different values for the same moment.

    Undated results are taken as of the case date (contract section 2). The assessment uses the
    last one given (:meth:`Case.latest`); the warning says so, so the choice is never silent.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> lab = lambda v: make_lab_result(source="c", field="labs[0]", analyte_name="phosphate",
    ...                                 value=v, unit="mg/dL", date=Date(2026, 9, 1))
    >>> [a.id for a in lab_conflicts(Case(labs=[lab(3.1), lab(6.2)]), knowledge=kb)]
    ['lab_conflict']
    >>> lab_conflicts(Case(labs=[lab(3.1), lab(3.1)]), knowledge=kb)
    []
    """
    by_moment: dict[tuple[str, Date | None], list[LabResult]] = {}
    for result in case.labs:
        when = result.taken_at or result.date or case.date
        by_moment.setdefault((result.analyte, when), []).append(result)
    alerts = []
    for (analyte_id, when), results in by_moment.items():
        values = list(dict.fromkeys(round(r.canonical_value, 4) for r in results))
        if len(values) < 2:
            continue
        entry = knowledge.analytes.analytes[analyte_id]
        shown = ", ".join(f"{v:g}" for v in values)
        moment = f"for {when}" if when is not None else "without a date"
        alerts.append(Alert(
            id="lab_conflict", severity="warning",
            message=f"{entry.label}: different results {moment} ({shown} "
                    f"{entry.canonical_unit}); the last one given ({values[-1]:g}) is used: "
                    "confirm with the laboratory",
            source="ectocalc input check (contract section 2: undated results take the case date)",
        ))
    return alerts
