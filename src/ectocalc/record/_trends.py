"""Pure analysis of results over time: trends, eGFR slope, CAC progression, monitoring due.

Thresholds and methods come from ``knowledge/data/record.yaml`` (:func:`record_rules`); each
result says which rule and source produced it. No I/O.
"""

from __future__ import annotations

import calendar
import itertools
import math
from collections.abc import Sequence
from datetime import date as Date
from typing import Any

from ectocalc.record._rules import RecordRules


def years_between(start: Date, end: Date) -> float:
    """Elapsed time in calendar years: whole years to the last anniversary, plus the fraction of
    the year to the next one (by its own length in days).

    Results a calendar year apart are 1 year apart (a count of days over 365.2425 makes a
    non-leap year 0.9993, short of a one-year rule). A 29 February start has its anniversary on
    28 February in other years. ``end`` before ``start`` gives a negative span.

    Examples
    --------
    >>> years_between(Date(2025, 1, 1), Date(2026, 1, 1)), years_between(Date(2024, 2, 29),
    ...                                                                   Date(2025, 2, 28))
    (1.0, 1.0)
    >>> round(years_between(Date(2025, 1, 1), Date(2025, 7, 2)), 4)  # 182 of 365 days
    0.4986
    """
    if end < start:
        return -years_between(end, start)
    whole = end.year - start.year
    if add_months(start, 12 * whole) > end:
        whole -= 1
    anniversary, following = add_months(start, 12 * whole), add_months(start, 12 * (whole + 1))
    return whole + (end - anniversary).days / (following - anniversary).days


def least_squares_slope(times: Sequence[float], values: Sequence[float]) -> float:
    """Ordinary least-squares slope of ``values`` on ``times`` (units of value per time).

    Raises
    ------
    ValueError
        Fewer than two points, or all at the same time.

    Examples
    --------
    >>> least_squares_slope([0, 1, 2], [10, 8, 6])
    -2.0
    """
    if len(times) < 2:
        raise ValueError("a slope needs at least two points")
    mean_t = sum(times) / len(times)
    mean_v = sum(values) / len(values)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread == 0:
        raise ValueError("all points are at the same time")
    return sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / spread


def lab_trend(points: Sequence[dict[str, Any]], rules: RecordRules) -> dict[str, Any]:
    """Persistence above range and direction of one analyte's series (oldest first).

    ``points`` carry ``date`` (a date), ``value`` and ``flag``.

    Examples
    --------
    >>> from ectocalc.record._rules import record_rules
    >>> series = [{"date": Date(2025, 1, 1), "value": 4.6, "flag": "high"},
    ...           {"date": Date(2025, 7, 1), "value": 5.4, "flag": "high"},
    ...           {"date": Date(2026, 1, 1), "value": 6.3, "flag": "high"}]
    >>> t = lab_trend(series, record_rules())
    >>> t["persistent_high"], t["direction"]
    (True, 'rising')
    """
    persistent = rules.persistent_high
    last = points[-persistent.results:]
    high = len(last) == persistent.results and all(p.get("flag") in persistent.flags
                                                   for p in last)
    return {"persistent_high": high,
            "persistent_high_rule": f"last {persistent.results} results above the range",
            "persistent_high_source": rules.cite(persistent.sources),
            "direction": direction(points, rules),
            "direction_method": rules.direction.method,
            "direction_source": rules.cite(rules.direction.sources)}


def direction(points: Sequence[dict[str, Any]], rules: RecordRules) -> str | None:
    """``rising``, ``falling`` or ``stable`` over the last results; None with fewer than two
    results on different dates."""
    window = points[-rules.direction.window:]
    if len(window) < 2 or window[0]["date"] == window[-1]["date"]:
        return None
    times = [years_between(window[0]["date"], p["date"]) for p in window]
    values = [float(p["value"]) for p in window]
    change = least_squares_slope(times, values) * (times[-1] - times[0])
    mean = sum(values) / len(values)
    if abs(change) <= rules.direction.stable_fraction * abs(mean):
        return "stable"
    return "rising" if change > 0 else "falling"


def egfr_trend(points: Sequence[dict[str, Any]], rules: RecordRules) -> dict[str, Any]:
    """eGFR slope per year (least squares) and rapid decline (KDIGO 2012).

    The slope needs at least ``min_values`` values spanning at least ``min_span_years``;
    otherwise it is None and ``note`` says why.

    Examples
    --------
    >>> from ectocalc.record._rules import record_rules
    >>> pts = [{"date": Date(2024, 1, 1), "value": 40.0}, {"date": Date(2025, 1, 1),
    ...        "value": 33.0}, {"date": Date(2026, 1, 1), "value": 26.0}]
    >>> t = egfr_trend(pts, record_rules())
    >>> t["slope_per_year"], t["rapid_decline"]
    (-7.0, True)
    """
    rule = rules.egfr_slope
    out: dict[str, Any] = {"slope_per_year": None, "rapid_decline": None,
                           "method": rule.method,
                           "rule": f"decline faster than {rule.rapid_decline_per_year:g} "
                                   "mL/min/1.73 m² per year",
                           "source": rules.cite(rule.sources), "values": len(points)}
    if points:
        out["direction"] = direction(points, rules)
    span = years_between(points[0]["date"], points[-1]["date"]) if points else 0.0
    if len(points) < rule.min_values or span < rule.min_span_years:
        out["note"] = (f"a slope needs at least {rule.min_values} values spanning "
                       f"{rule.min_span_years:g} year(s); have {len(points)} over "
                       f"{span:.2f} year(s)")
        return out
    times = [years_between(points[0]["date"], p["date"]) for p in points]
    slope = least_squares_slope(times, [float(p["value"]) for p in points])
    out["slope_per_year"] = slope
    out["span_years"] = span
    out["rapid_decline"] = slope < -rule.rapid_decline_per_year
    return out


def cac_progression(scans: Sequence[dict[str, Any]], rules: RecordRules) -> list[dict[str, Any]]:
    """Progression between consecutive scans (oldest first), each pair with every method.

    ``scans`` carry ``date``, ``value`` (Agatston) and the acquisition keys named in the rules
    (``kvp``, ``slice_increment_mm``, ``convention``). Annualised change is compound:
    ``((A2 / A1) ** (1 / years) - 1) * 100``; undefined from a zero score.

    Examples
    --------
    >>> from ectocalc.record._rules import record_rules
    >>> acq = {"kvp": 120, "slice_increment_mm": 3.0, "convention": "agatston-1990"}
    >>> p = cac_progression([{"date": Date(2024, 5, 2), "value": 100.0, **acq},
    ...                      {"date": Date(2026, 5, 2), "value": 150.0, **acq}], record_rules())
    >>> p[0]["hokanson"], p[0]["raggi"], round(p[0]["annual_percent"], 2)  # (1.5 ** 0.5 - 1)
    (False, True, 22.47)
    """
    rule = rules.cac_progression
    pairs = []
    for before, after in itertools.pairwise(scans):
        years = years_between(before["date"], after["date"])
        first, second = float(before["value"]), float(after["value"])
        difference = math.sqrt(second) - math.sqrt(first)
        annual = None
        if first > 0 and years > 0:
            annual = ((second / first) ** (1 / years) - 1) * 100
        differs = [key for key in rule.comparable if before.get(key) != after.get(key)]
        pairs.append({
            "from": before["date"], "to": after["date"], "interval_years": years,
            "baseline": first, "follow_up": second,
            "sqrt_difference": difference,
            "hokanson": difference >= rule.hokanson_sqrt_difference,
            "hokanson_rule": f"√Agatston difference ≥ {rule.hokanson_sqrt_difference:g}",
            "hokanson_source": rules.cite([rule.hokanson_source]),
            "annual_percent": annual,
            "raggi": None if annual is None else annual >= rule.raggi_annual_percent,
            "raggi_rule": f"annualised change ≥ {rule.raggi_annual_percent:g} % per year",
            "raggi_source": rules.cite([rule.raggi_source]),
            "incident": first == 0 and second > 0,
            "warnings": [f"scans differ in {', '.join(differs)}: scores are not directly "
                         "comparable"] if differs else [],
        })
    return pairs


def add_months(day: Date, months: float) -> Date:
    """``day`` plus a whole number of months (clamped to the month's last day).

    Examples
    --------
    >>> add_months(Date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    """
    whole = round(months)
    month_index = day.month - 1 + whole
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return Date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def monitoring_due(plan: Sequence[Any], last_dates: dict[str, Date], today: Date,
                   rules: RecordRules) -> list[dict[str, Any]]:
    """When each test of the monitoring plan is next due, and whether it is overdue.

    Parameters
    ----------
    plan : sequence of MonitoringItem
        The KDIGO 2017 schedule at the patient's current stage (``test``, ``interval_months``,
        ``source``).
    last_dates : dict
        Analyte id → date of its latest result.
    today : date
    rules : RecordRules
        Which analytes satisfy each test.

    Returns
    -------
    list of dict
        ``test``, ``last``, ``due`` (last + the longest interval; None when the guideline gives

    """
    out = []
    for item in plan:
        analytes = rules.monitoring_tests.get(item.test, [])
        done = [last_dates[a] for a in analytes if a in last_dates]
        last = max(done) if done else None
        due: Date | None = None
        if item.interval_months is not None:
            due = today if last is None else add_months(last, item.interval_months[1])
        out.append({"test": item.test, "last": last, "due": due,
                    "interval_months": item.interval_months,
                    "overdue": due is not None and (last is None or due < today),
                    "source": item.source})
    return out
