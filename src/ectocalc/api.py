"""The Python API for notebooks and scripts: ``ectocalc.assess``, ``ectocalc.load_case``,
``ectocalc.quantify``, ``ectocalc.Record`` and ``ectocalc.load_knowledge``.

The top-level names are imported lazily (PEP 562), so ``import ectocalc`` stays cheap. Every
call goes through :mod:`ectocalc.service`, as the command line and the web application do, so
the same data and date give the same flags, values and alerts everywhere. Results convert to
pandas: :meth:`Assessment.to_frame <ectocalc.model.Assessment.to_frame>`,
:meth:`ScanResult.lesions_frame <ectocalc.model.scan.ScanResult.lesions_frame>` and
:meth:`Record.series_frame`. A worked example is in ``docs/api.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date as Date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ectocalc.knowledge import Knowledge, load_knowledge
from ectocalc.model.assessment import Assessment
from ectocalc.model.case import Case
from ectocalc.model.scan import ScanResult

if TYPE_CHECKING:
    import pandas as pd

    from ectocalc.record import AddResult, Store

__all__ = ["Record", "assess", "load_case", "load_knowledge", "quantify"]


def load_case(path: str | Path, *, knowledge: Knowledge | None = None) -> Case:
    """Read a case file (YAML/JSON, contract §2) or a FHIR R4 Bundle into a validated case.

    Parameters
    ----------
    path : str or Path
        The file.
    knowledge : Knowledge, optional
        Whose analyte catalogue checks and converts the results (default the packaged one).

    Returns
    -------
    Case

    Raises
    ------
    InputError
        The file or one of its fields is invalid (the message names file and field).

    Examples
    --------
    >>> import ectocalc
    >>> case = ectocalc.load_case("examples/cases/ckd4.yaml")
    >>> case.patient.sex, [lab.analyte for lab in case.labs][:3]
    ('female', ['creatinine', 'cystatin_c', 'calcium'])
    """
    from ectocalc import service

    return service.read_case(path, knowledge=knowledge)


def assess(case: Case | str | Path, *, knowledge: Knowledge | None = None,
           as_of: Date | str | None = None,
           scans: Sequence[ScanResult] | None = None) -> Assessment:
    """Assess a case: derived values, mechanism, types, syndromes, plans, monitoring, alerts.

    Parameters
    ----------
    case : Case, str or Path
        A case (:func:`load_case`) or the path of a case file or FHIR Bundle.
    knowledge : Knowledge, optional
        The knowledge bundle (:func:`load_knowledge`); default the packaged one.
    as_of : date or str, optional
        Assess as known on this date (``"2026-03-01"`` or a :class:`datetime.date`): results
        dated later are left out.
    scans : sequence of ScanResult, optional
        Already-quantified CTs (:func:`quantify`); when None, the CTs the case lists are
        quantified.

    Returns
    -------
    Assessment
        Full precision; :meth:`~ectocalc.model.Assessment.to_frame` gives a table.

    Raises
    ------
    InputError
        An invalid file or field, or an ``as_of`` that is not a date.

    Examples
    --------
    >>> import ectocalc
    >>> a = ectocalc.assess("examples/cases/ckd4.yaml", as_of="2026-09-15")
    >>> a.derived.ckd_stage, [s.id for s in a.syndromes]
    ('G4', ['hyperparathyroidism', 'ckd_mbd'])
    >>> len(ectocalc.assess("examples/cases/ckd4.yaml", as_of="2026-09-14").labs)  # day before
    0
    """
    from ectocalc import service

    given = load_case(case, knowledge=knowledge) if isinstance(case, str | Path) else case
    return service.assess_case(given, knowledge=knowledge, as_of=_date(as_of), scans=scans)


def quantify(path: str | Path, *, out_dir: str | Path | None = None,
             knowledge: Knowledge | None = None, **options: Any) -> ScanResult:
    """Quantify calcification on one CT (DICOM folder, ``.zip`` of one, or NIfTI).

    Parameters
    ----------
    path : str or Path
        The CT.
    out_dir : str or Path, optional
        Folder for the DICOM SEG and SR, lesion CSV, overlays and ``scan.json``.
    knowledge : Knowledge, optional
        The bundle of the scan's CAC-DRS and aortic-valve categories (default the packaged one).
    **options
        As ``ectocalc scan`` (:func:`ectocalc.service.quantify_scan`): ``anatomy``,
        ``anatomy_names``, ``kvp``, ``convention``, ``calibration``, ``contrast``.

    Returns
    -------
    ScanResult
        Totals in Agatston units, mm³ and mg; :meth:`~ectocalc.model.scan.ScanResult.
        lesions_frame` gives one row per lesion.

    Raises
    ------
    InputError
        Unreadable or unsuitable input.

    Examples
    --------
    >>> import ectocalc, tempfile
    >>> from ectocalc.datasets import write_phantom
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_phantom(folder + "/ph", anatomy=False, rows=128, columns=128, slices=20)
    >>> scan = ectocalc.quantify(folder + "/ph/dicom")
    >>> len(scan.lesions_frame()) == len(scan.lesions) > 0
    True
    """
    from ectocalc import service

    return service.quantify_scan(path, out_dir=out_dir, knowledge=knowledge, **options)


class Record:
    """A patient record (SQLite or PostgreSQL) for notebooks: add files, list patients, view
    and assess one patient as of a date, series as a DataFrame.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL (``sqlite:///record.db``); default ``$ECTOCALC_DB``, else the user's
        record. The schema is created or upgraded on opening.
    knowledge : Knowledge, optional
        The bundle flags, derived values and alerts are judged with (default the packaged one).

    Raises
    ------
    InputError
        The record cannot be opened.

    Examples
    --------
    >>> import ectocalc, glob, tempfile
    >>> with ectocalc.Record(f"sqlite:///{tempfile.mkdtemp()}/record.db") as record:
    ...     _ = record.add(sorted(glob.glob("examples/record/visit-*.yaml")))
    ...     frame = record.series_frame("MRN-0042", as_of="2026-11-30")
    >>> phosphate = frame[frame.series == "phosphate"]
    >>> phosphate.value.round(2).tolist(), phosphate.flag.tolist()
    ([4.2, 4.9, 5.61], ['normal', 'high', 'high'])
    """

    def __init__(self, url: str | None = None, *, knowledge: Knowledge | None = None) -> None:
        from ectocalc.record import open_store

        self.knowledge = knowledge
        self._store: Store = open_store(url)

    def __enter__(self) -> Record:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self._store.dispose()

    def add(self, paths: Sequence[str | Path], *,
            patient_id: str | None = None) -> list[AddResult]:
        """Add case files, FHIR Bundles and scan results (``record add``); each file goes in
        whole or not at all, and the same content twice changes nothing."""
        from ectocalc.record import add_files

        return add_files(self._store, paths, patient_id=patient_id)

    def patients(self) -> list[dict[str, Any]]:
        """The patients: id, sex, number of results and scans, last result date."""
        from ectocalc.record import list_patients

        return list_patients(self._store, knowledge=self.knowledge)

    def view(self, patient: str, *, as_of: Date | str | None = None) -> dict[str, Any]:
        """The ``record show`` document (contract §5) as of a date (default today), at full
        precision (:func:`ectocalc.model.display.shown_view` rounds it as shown)."""
        from ectocalc.record import patient_view

        return patient_view(self._store, patient, today=_date(as_of), knowledge=self.knowledge)

    def assess(self, patient: str, *, as_of: Date | str | None = None) -> Assessment:
        """The assessment of everything recorded up to ``as_of`` (default today); not stored."""
        from ectocalc.record import assess_patient

        return assess_patient(self._store, patient, as_of=_date(as_of), save=False,
                              knowledge=self.knowledge)

    def series_frame(self, patient: str, *, as_of: Date | str | None = None) -> pd.DataFrame:
        """Every series of the patient as one long table, oldest first within each series.

        Returns
        -------
        pandas.DataFrame
            Columns ``series`` (analyte, ``egfr``, ``corrected_calcium``,
            ``calcium_phosphate_product`` or ``cac_agatston``), ``date`` (datetime64),
            ``value`` (full precision), ``unit``, ``flag``, ``reference_low``,
            ``reference_high``; flags and ranges are the core's, as in :meth:`assess`.
        """
        import pandas as pd

        rows = []
        for name, points in self.view(patient, as_of=as_of)["series"].items():
            for point in points:
                low, high = point.get("reference_range") or (None, None)
                rows.append({"series": name, "date": point["date"], "value": point["value"],
                             "unit": point.get("unit", "Agatston"), "flag": point.get("flag"),
                             "reference_low": low, "reference_high": high})
        frame = pd.DataFrame(rows, columns=["series", "date", "value", "unit", "flag",
                                            "reference_low", "reference_high"])
        frame["date"] = pd.to_datetime(frame["date"])
        return frame


def _date(value: Date | str | None) -> Date | None:
    """A date given as text (``YYYY-MM-DD``, read as ``--as-of`` is) or as a date."""
    from ectocalc.assess import as_of_date

    return value if value is None or isinstance(value, Date) else as_of_date(value,
                                                                              where="as_of")
