"""The service layer: load → quantify → assess → render, for every adapter.

The command line (:mod:`ectocalc.cli`), the patient record, the web application and the cohort
runner call only this module; it is the one place that joins file input, the imaging stack and
the pure core (:func:`ectocalc.assess.assess`, which does no I/O). Data flows one way:
inputs → :class:`~ectocalc.model.Case` / :class:`~ectocalc.model.scan.ScanResult` →
:class:`~ectocalc.model.Assessment` → renderers.

Examples
--------
>>> from ectocalc.model.case import Case, Patient
>>> a = assess_case(Case(patient=Patient(age_years=60, sex="female")))
>>> a.knowledge_version == default_knowledge().version
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ectocalc.errors import InputError
from ectocalc.knowledge import Knowledge, load_knowledge
from ectocalc.model.assessment import Assessment
from ectocalc.model.case import Case
from ectocalc.model.scan import ScanResult

if TYPE_CHECKING:  # the imaging stack loads only when a scan runs
    from ectocalc.render import Audience, Format

ContrastPolicy = Literal["refuse", "lumen", "ignore"]
StageProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: slices decoded, then analysis and output steps."""


def default_knowledge() -> Knowledge:
    """The packaged knowledge bundle (loaded and validated once per process)."""
    return load_knowledge()


def read_case(path: str | Path, *, knowledge: Knowledge | None = None) -> Case:
    """Read a case file (JSON/YAML, contract §2) or a FHIR R4 Bundle, its results checked
    against the analyte catalogue of ``knowledge`` (default :func:`default_knowledge`).

    Raises
    ------
    InputError
        The file or one of its fields is invalid (one line naming file and field).
    """
    from ectocalc.io.case_file import load_case

    return load_case(Path(path), catalogue=(knowledge or default_knowledge()).analytes)


def read_bundle(document: dict[str, Any], *, source: str) -> Case:
    """Read a FHIR R4 Bundle already parsed from JSON (e.g. assembled by the CDS service).

    Raises
    ------
    InputError
        The Bundle or one of its entries is invalid (one line naming ``source`` and field).
    """
    from ectocalc.io.fhir import case_from_bundle

    return case_from_bundle(document, source=source)


def quantify_scan(path: str | Path, *, anatomy: str | Path | None = None,
                  anatomy_names: str | Path | None = None, kvp: float | None = None,
                  convention: str = "agatston-1990", calibration: float | None = None,
                  out_dir: str | Path | None = None, contrast: ContrastPolicy = "refuse",
                  progress: StageProgress | None = None,
                  study_date: Date | None = None,
                  knowledge: Knowledge | None = None) -> ScanResult:
    """Quantify calcification on one CT (DICOM folder, ``.zip`` of one, or NIfTI).

    Parameters are those of ``ectocalc scan`` (contract §1); ``out_dir`` receives the SEG, SR,
    lesion CSV, overlays and ``scan.json``. ``study_date`` overrides the date read from the
    data (a case file's ``scans[].date``); ``knowledge`` gives the CAC-DRS and aortic-valve
    categories (default :func:`default_knowledge`).

    Raises
    ------
    InputError
        Unreadable or unsuitable input.
    """
    from ectocalc.imaging.scan import quantify

    result = quantify(path, anatomy=anatomy, anatomy_names=anatomy_names, kvp=kvp,
                      convention=convention, calibration=calibration, out_dir=out_dir,
                      contrast=contrast, progress=progress)
    if study_date is not None:
        result = result.model_copy(update={"study_date": study_date})
    return _with_scales(result, out_dir, knowledge=knowledge)


def _with_scales(result: ScanResult, out_dir: str | Path | None, *,
                 knowledge: Knowledge | None = None) -> ScanResult:
    """Add the CAC-DRS / aortic-valve categories of typed lesions (rewrites ``scan.json``)."""
    from ectocalc.scales import scan_scales

    scales = scan_scales(result, knowledge=knowledge or default_knowledge())
    if scales is None:
        return result
    result = result.model_copy(update={"scales": scales})
    if out_dir is not None:
        from ectocalc.io.files import atomic_write

        text = result.model_dump_json(indent=2)
        atomic_write(Path(out_dir) / "scan.json", lambda tmp: tmp.write_text(text))
    return result


@dataclass(frozen=True)
class CaseScan:
    """One CT a case lists (``scans[index]``), its paths resolved against the case file."""

    index: int
    path: Path
    date: Date | None = None
    anatomy: Path | None = None
    anatomy_names: Path | None = None

    @property
    def files(self) -> list[Path]:
        """The CT and, when given, its anatomy map and names."""
        return [p for p in (self.path, self.anatomy, self.anatomy_names) if p is not None]


def case_scans(case: Case, *, check: bool = True) -> list[CaseScan]:
    """The CT scans a case lists, paths relative to the case file's folder.

    Raises
    ------
    InputError
        With ``check``: a listed path does not exist (names ``scans[i].path``, ``.anatomy``
        or ``.anatomy_names``).
    """
    base = Path(case.source).parent if case.source else Path.cwd()

    def resolve(given: str | None) -> Path | None:
        return None if given is None else Path(given) if Path(given).is_absolute() \
            else base / given

    scans = []
    for index, ref in enumerate(case.scans):
        path = resolve(ref.path)
        assert path is not None
        scan = CaseScan(index=index, path=path, date=ref.date, anatomy=resolve(ref.anatomy),
                        anatomy_names=resolve(ref.anatomy_names))
        for field in ("path", "anatomy", "anatomy_names") if check else ():
            given = getattr(scan, field)
            if given is not None and not given.exists():
                raise InputError(case.source or "case", f"scans[{index}].{field}",
                                 f"{given} does not exist")
        scans.append(scan)
    return scans


def quantify_case_scans(case: Case, *, knowledge: Knowledge | None = None) -> list[ScanResult]:
    """Quantify the CT scans a case lists (see :func:`case_scans`).

    Raises
    ------
    InputError
        A listed path does not exist or is not a CT ectocalc can score.
    """
    return [quantify_scan(scan.path, anatomy=scan.anatomy, anatomy_names=scan.anatomy_names,
                          study_date=scan.date, knowledge=knowledge)
            for scan in case_scans(case)]


def assess_case(case: Case, *, knowledge: Knowledge | None = None, as_of: Date | None = None,
                scans: Sequence[ScanResult] | None = None) -> Assessment:
    """Assess a case: its listed scans are quantified unless ``scans`` are given.

    Parameters
    ----------
    case : Case
    knowledge : Knowledge, optional
        Defaults to :func:`default_knowledge`.
    as_of : date, optional
        Assess as known on that date.
    scans : sequence of ScanResult, optional
        Already-quantified scans; when None, ``case.scans`` are read and quantified.
    """
    from ectocalc.assess import assess

    knowledge = knowledge or default_knowledge()
    if scans is None:
        scans = quantify_case_scans(case, knowledge=knowledge)
    return assess(case, knowledge=knowledge, as_of=as_of, scans=scans)


def assess_file(path: str | Path, *, knowledge: Knowledge | None = None,
                as_of: Date | None = None) -> Assessment:
    """Read a case file or FHIR Bundle and assess it (with the scans it lists), all with one
    knowledge bundle (default :func:`default_knowledge`)."""
    return assess_case(read_case(path, knowledge=knowledge), knowledge=knowledge, as_of=as_of)


def render_assessment(assessment: Assessment, *, format: Format,
                      audience: Audience = "clinician", color: bool = False) -> str:
    """Render an assessment as JSON, text or HTML for a clinician or the patient."""
    from ectocalc.render import render

    return render(assessment, format=format, audience=audience, color=color)


__all__ = ["CaseScan", "assess_case", "assess_file", "case_scans", "default_knowledge",
           "quantify_case_scans",
           "quantify_scan", "read_bundle", "read_case", "render_assessment"]
