"""A small cohort: phantom CT series of varied calcium load, broken series, example cases."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ectocalc.datasets import write_phantom

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cases"
PHANTOMS = {  # name: (matrix, pixel mm, slices, increment mm, seed); coarser = more partial volume
    "ph-a": (64, 3.0, 20, 9.0, 1),
    "ph-b": (96, 2.0, 20, 9.0, 2),
    "ph-c": (96, 2.0, 12, 15.0, 3),
}
PATIENT_NAME = "PHANTOM^SYNTHETIC^ECTOCALC"


def _skip_if_settings_changed(before: Path, after: Path) -> None:
    stamps = [json.loads((folder / "DONE").read_text())["stamp"] for folder in (before, after)]
    if stamps[0] != stamps[1]:
        pytest.skip(f"settings changed during the test: {stamps[0]} -> {stamps[1]}")


@pytest.fixture
def skip_if_settings_changed() -> Callable[[Path, Path], None]:
    """Skip when two items' ``DONE`` stamps differ: the knowledge (or ectocalc) changed while
    the test ran, which rightly makes a rerun redo everything (a shared working tree)."""
    return _skip_if_settings_changed


@dataclass(frozen=True)
class Cohort:
    root: Path
    inputs: list[Path]
    scans: dict[str, Path]
    cases: dict[str, Path]
    broken: list[str]
    """Ids of the items that must fail."""


def _phantom(out: Path, matrix: int, pixel: float, slices: int, increment: float,
             seed: int, *, anatomy: bool = False) -> Path:
    write_phantom(out, rows=matrix, columns=matrix, slices=slices, pixel_spacing_mm=pixel,
                  slice_increment_mm=increment, seed=seed, anatomy=anatomy)
    return out / "dicom"


@pytest.fixture(scope="session")
def cohort_source(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """Phantoms (two folders, one zip), three broken series, a bad case, the example cases.

    ``ct-linked.yaml`` lists ``../phantom/dicom`` (with its anatomy map): a small phantom is
    written there, so the case is assessed with its scan.
    """
    root = tmp_path_factory.mktemp("cohort-source")
    scans = root / "scans"
    for name, (matrix, pixel, slices, increment, seed) in PHANTOMS.items():
        shutil.copytree(_phantom(root / "work" / name, matrix, pixel, slices, increment, seed),
                        scans / name)
    zipped = scans / "ph-c.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for file in sorted((scans / "ph-c").iterdir()):
            archive.write(file, f"ph-c/{file.name}")
    shutil.rmtree(scans / "ph-c")
    # Broken series: garbage in .dcm files, a truncated slice, a zip that is not one.
    (scans / "broken-garbage").mkdir()
    (scans / "broken-garbage" / "001.dcm").write_bytes(b"not a DICOM file" * 20)
    truncated = scans / "broken-truncated"
    shutil.copytree(scans / "ph-a", truncated)
    first = sorted(truncated.glob("*.dcm"))[0]
    first.write_bytes(first.read_bytes()[:400])
    (scans / "broken-zip.zip").write_bytes(b"PK but not really")
    cases = root / "cases"
    cases.mkdir()
    for case in sorted(EXAMPLES.iterdir()):
        shutil.copy(case, cases / case.name)
    _phantom(root / "phantom", 64, 3.0, 20, 9.0, 7, anatomy=True)  # ct-linked.yaml's scan
    (cases / "bad-case.yaml").write_text("id: bad\npatient: {age_years: 50, sex: unknown}\n")
    return Cohort(root=root, inputs=[scans, cases],
                  scans={"ph-a": scans / "ph-a", "ph-b": scans / "ph-b", "ph-c": zipped},
                  cases={p.stem: p for p in sorted(cases.iterdir())},
                  broken=["broken-garbage", "broken-truncated", "broken-zip", "bad-case"])


@pytest.fixture(scope="session")
def cohort_run(cohort_source: Cohort, tmp_path_factory: pytest.TempPathFactory,
               ) -> tuple[Path, list[Path]]:
    """The cohort plus a manifest row pairing a case with a scan, run once (2 local workers)."""
    from typer.testing import CliRunner

    from ectocalc.cli import app

    table = cohort_source.root / "pairs.csv"
    table.write_text("id,case,scan\npair-ckd4,cases/ckd4.yaml,scans/ph-b\n")
    inputs = [*cohort_source.inputs, table]
    out = tmp_path_factory.mktemp("cohort-run") / "out"
    result = CliRunner().invoke(app, ["cohort", *map(str, inputs), "--out", str(out),
                                      "--workers", "2"])
    assert result.exit_code == 1, result.output  # some items are broken on purpose
    return out, inputs
