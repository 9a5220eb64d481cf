"""Helpers of the record tests: the shipped example and small case files."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "record"


def case_text(patient: str, date: str, labs: list[tuple[str, float, str]], *,
              age: float = 60, sex: str = "female") -> str:
    """A small YAML case file."""
    lines = [f"date: {date}", f"patient: {{id: {patient}, age_years: {age}, sex: {sex}}}",
             "labs:"]
    lines += [f"  - {{analyte: {name}, value: {value}, unit: {unit}}}"
              for name, value, unit in labs]
    return "\n".join(lines) + "\n"
