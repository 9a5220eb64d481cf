"""Hostile and odd inputs (issue 10): each kind is refused with one located line and exit 2,
or accepted correctly; never a traceback, a hang, a second line or a silent wrong value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ectocalc.errors import InputError
from ectocalc.io import case_file
from ectocalc.io.case_file import load_case

CASES = Path(__file__).resolve().parents[2] / "examples" / "cases"
LAB = "{analyte: calcium, value: 9.5, unit: mg/dL}"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _refused(run_cli, path: Path, *args: str) -> str:
    """Run ``assess`` on ``path``: exit 2, nothing on stdout, exactly one line on stderr."""
    result = run_cli("assess", path, *args)
    assert result.code == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    return result.stderr


@pytest.mark.parametrize(("name", "text", "words"), [
    # a mapping whose keys are not all text
    ("keys.yaml", f"labs: [{LAB[:-1]}, 1: x}}]\n", "labs[0]: a key in labs[0] is not text: 1"),
    ("topkeys.yaml", "1: x\npatient: {}\n", "a mapping key is not text: 1"),
    ("boolkey.yaml", "patient: {no: 1}\n", "a key in patient is not text: False"),
    # integers too large for a float
    ("big.yaml", f"labs: [{{analyte: calcium, value: {10**400}, unit: mg/dL}}]\n",
     "labs[0].value: number too large"),
    ("bigrange.json", json.dumps({"labs": [{"analyte": "calcium", "value": 9, "unit": "mg/dL",
                                            "reference_range": [1, 10**400]}]}),
     "labs[0].reference_range[1]: number too large"),
    ("inf.yaml", "labs: [{analyte: calcium, value: .inf, unit: mg/dL}]\n", "not a finite"),
    # nesting deeper than any case or bundle, in both parsers (and past Python's stack)
    ("deep.json", "[" * 600 + "]" * 600, "nesting deeper than 64 levels"),
    ("deep.yaml", "[" * 600 + "]" * 600, "nesting deeper than 64 levels"),
    ("deeper.json", "[" * 100_000 + "]" * 100_000, "nesting deeper than 64 levels"),
    # a key given twice: never silently the last one
    ("dup.yaml", "patient: {age_years: 60}\npatient: {age_years: 6}\n",
     "malformed YAML at line 2 column 1: key 'patient' is given twice"),
    ("dup.json", '{"patient": {"age_years": 60, "age_years": 6}}',
     "key 'age_years' is given twice"),
    # YAML aliases multiplying a small file into billions of values
    ("laughs.yaml", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)), "more than 2000000 values"),
    ("binary.yaml", "id: !!binary aGVsbG8=\n", "id: unsupported value of type bytes"),
    # booleans are not numbers
    ("bool.yaml", "patient: {age_years: true}\n", "patient.age_years: must be a number, not"),
    ("boolsize.yaml", "findings: [{site: shoulder, size_mm: true}]\n",
     "findings[0].size_mm: must be a number"),
    ("boolkauppila.yaml", "findings: [{site: aorta, kauppila: {L1: [true, 0]}}]\n",
     "findings[0].kauppila.L1[0]: must be a number"),
    ("boolvalue.yaml", "labs: [{analyte: calcium, value: true, unit: mg/dL}]\n",
     "labs[0].value: value must be a finite number, got True"),
    # an age from birth_date obeys the same 0-130 limit as age_years
    ("old.yaml", "date: 2026-01-01\npatient: {birth_date: 0001-01-01, sex: male}\n",
     "patient: birth_date is more than 130 years before date"),
    # a lab from the future would become the "latest" and hide the current value
    ("future.yaml", f"labs: [{LAB}, {{analyte: calcium, value: 12, unit: mg/dL, "
     "date: 2099-01-01}]\n", "labs[1].date: 2099-01-01 is after today"),
    ("aftercase.yaml", "date: 2026-01-01\nlabs: [{analyte: calcium, value: 12, unit: mg/dL, "
     "date: 2026-02-01}]\n", "labs[0].date: 2026-02-01 is after the case date 2026-01-01"),
    ("comparator.yaml", "labs: [{analyte: pth, value: 3, unit: pg/mL, comparator: '~'}]\n",
     "labs[0].comparator: '~' is not one of <, <=, >=, >"),
    ("fhirtype.json", json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": {"resourceType": "Foo"}}]}),
     "entry[0].resource.resourceType: 'Foo' is not a FHIR R4 resource type"),
])
def test_refused_kinds(run_cli, tmp_path: Path, name: str, text: str, words: str) -> None:
    path = _write(tmp_path, name, text)
    line = _refused(run_cli, path)
    assert line.startswith(f"error: {path}: ")
    assert words in line, line


def test_case_file_comparator_is_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.yaml", "labs: [{analyte: pth, value: 3, unit: pg/mL, "
                                      "comparator: '<'}]\n")
    lab = load_case(path).labs[0]
    assert (lab.comparator, lab.value) == ("<", 3.0)


def test_newline_in_a_value_cannot_forge_a_second_line(run_cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "nl.json", json.dumps({"labs": [
        {"analyte": "calcium", "value": 9, "unit": "mg\nerror: forged.yaml: all fine"}]}))
    line = _refused(run_cli, path)
    assert "mg\\nerror: forged.yaml" in line


def test_a_huge_value_is_not_echoed_whole(run_cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.json", json.dumps({"labs": [
        {"analyte": "x" * 2**20, "value": 9, "unit": "mg/dL"}]}))
    line = _refused(run_cli, path)
    assert "labs[0].analyte: unknown analyte 'xxx" in line and " … " in line
    assert len(line) < 300


def test_control_characters_in_a_field_name_are_escaped(tmp_path: Path) -> None:
    path = _write(tmp_path, "ctl.json", json.dumps({"bad\rkey\x1b[31m": 1}))
    with pytest.raises(InputError) as caught:
        load_case(path)
    assert caught.value.field == "bad\\rkey\\x1b[31m"


def test_fifo_case_path_is_refused_without_hanging(run_cli, tmp_path: Path) -> None:
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    assert "is not a regular file" in _refused(run_cli, fifo)


def test_scan_path_at_the_filesystem_root_is_refused(run_cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "root.yaml", "scans: [{path: /}]\n")
    assert "scans[0].path: is the filesystem root" in _refused(run_cli, path)
    relative = _write(tmp_path, "up.yaml", "scans: [{path: " + "../" * 40 + "}]\n")
    assert "is the filesystem root" in _refused(run_cli, relative)


def test_scan_path_that_is_a_pipe_is_refused(run_cli, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ct.nii")
    path = _write(tmp_path, "pipe.yaml", "scans: [{path: ct.nii}]\n")
    assert "scans[0].path: is not a regular file or folder" in _refused(run_cli, path)


def test_scan_folder_with_too_many_entries_is_refused(run_cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_file, "MAX_SCAN_ENTRIES", 3)
    for i in range(4):
        (tmp_path / "many" / str(i)).mkdir(parents=True)
    path = _write(tmp_path, "many.yaml", "scans: [{path: many}]\n")
    assert "folder has more than 3 entries" in _refused(run_cli, path)


def test_out_onto_the_input_is_refused_before_the_analysis(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    original = (CASES / "ckd4.yaml").read_text()
    case.write_text(original)
    line = _refused(run_cli, case, "--out", case)
    assert "--out: is an input file" in line
    assert case.read_text() == original
    linked = tmp_path / "link.yaml"
    linked.symlink_to(case)
    assert "--out: is an input file" in _refused(run_cli, case, "--out", linked)


def test_out_into_a_read_only_folder_is_refused(run_cli, tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere on a writable filesystem; sysfs refuses it
        folder = Path("/sys")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    line = _refused(run_cli, CASES / "ckd4.yaml", "--out", folder / "r.json")
    assert f"--out: cannot write in folder {folder}" in line


def test_bad_arguments_are_one_line(run_cli) -> None:
    result = run_cli("assess", CASES / "ckd4.yaml", "--format", "pdf")
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Invalid value for '--format'")


def test_library_warnings_never_reach_stderr(tmp_path: Path) -> None:
    """A real process: a library warning and a library log record during a successful run."""
    script = (
        "import logging, sys, warnings\n"
        "import ectocalc.io.case_file as m\n"
        "original = m.check_tree\n"
        "def noisy(document, source):\n"
        "    warnings.warn('a library warning', UserWarning)\n"
        "    logging.getLogger('pydicom').warning('a library log record')\n"
        "    import nibabel  # attaches its own stderr handler to nibabel.global\n"
        "    logging.getLogger('nibabel.global').error('a self-printing library')\n"
        "    return original(document, source)\n"
        "m.check_tree = noisy\n"
        "from ectocalc.cli import main\n"
        f"sys.argv = ['ectocalc', 'assess', {str(CASES / 'ckd4.yaml')!r}, '-f', 'json']\n"
        "main()\n")
    env = {k: v for k, v in os.environ.items() if k != "ECTOCALC_DEBUG"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=env, check=False)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["case_id"] == "ckd4"


def test_si_reference_range_and_units_shown(run_cli) -> None:
    """Issue D: a laboratory range given in mmol/L reads 2.5-4.5 mg/dL, not 2.50005-4.5001,
    and every range carries its unit, so PTH 64.66 pmol/L is not read against '10-65'."""
    case = load_case(CASES / "ckd-hemodialysis-si.yaml")
    phosphate = next(lab for lab in case.labs if lab.analyte == "phosphate")
    assert phosphate.reference_range == (2.5, 4.5)
    text = run_cli("assess", CASES / "ckd-hemodialysis-si.yaml", "-f", "text").stdout
    assert "2.5–4.5 mg/dL" in text and "10–65 pg/mL" in text
    assert "2.50005" not in text
    doc = json.loads(run_cli("assess", CASES / "ckd-hemodialysis-si.yaml", "-f", "json").stdout)
    pth = next(lab for lab in doc["labs"] if lab["analyte"] == "pth")
    assert (pth["value"], pth["unit"], pth["canonical_value"], pth["flag"]) == (
        64.66, "pmol/L", pytest.approx(610.0, abs=0.1), "high")
