"""``pacs scan``: query a study, retrieve its CT series, quantify, store SEG + SR back
(contract §9) (private)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ectocalc.errors import InputError
from ectocalc.model.scan import ScanResult
from ectocalc.pacs._client import call

_SERIES_UID = "0020000E"
_MODALITY = "00080060"
_INSTANCES = "00201209"


@dataclass(frozen=True)
class SeriesOutcome:
    """One CT series of the study: scored (``result``) or refused (``reason``)."""

    series_uid: str
    result: ScanResult | None = None
    reason: str | None = None
    stored: list[str] = field(default_factory=list)
    """SOP Instance UIDs sent back to the PACS (SEG, SR)."""


def _value(attributes: dict[str, Any], tag: str) -> Any:
    values = attributes.get(tag, {}).get("Value") or [None]
    return values[0]


def ct_series(client: Any, url: str, study_uid: str) -> list[str]:
    """The study's CT series (QIDO-RS), most instances first (a localizer has few).

    Raises
    ------
    InputError
        The server is unreachable or refuses, or the study has no CT series.
    """
    found = call(url, f"study {study_uid}", lambda: client.search_for_series(
        study_instance_uid=study_uid, fields=["Modality", "NumberOfSeriesRelatedInstances"]))
    series = [(int(_value(s, _INSTANCES) or 0), _value(s, _SERIES_UID)) for s in found
              if _value(s, _MODALITY) == "CT"]
    if not series:
        raise InputError(url, f"study {study_uid}",
                         "no CT series (QIDO-RS found " + (
                             ", ".join(sorted({str(_value(s, _MODALITY)) for s in found}))
                             or "no series") + ")")
    return [uid for _, uid in sorted(series, key=lambda x: -x[0])]


def _retrieve(client: Any, url: str, study_uid: str, series_uid: str, folder: Path) -> Path:
    """WADO-RS retrieve one series into ``folder`` (one Part 10 file per instance)."""
    datasets = call(url, f"series {series_uid}",
                    lambda: client.retrieve_series(study_uid, series_uid))
    folder.mkdir(parents=True)
    for number, dataset in enumerate(datasets):
        dataset.save_as(folder / f"{number:05d}.dcm", enforce_file_format=True)
    return folder


def _score(client: Any, url: str, study_uid: str, series_uid: str, work: Path,
           store: bool) -> SeriesOutcome:
    from pydicom import dcmread

    from ectocalc.service import quantify_scan

    series_dir = _retrieve(client, url, study_uid, series_uid, work / "dicom")
    out = work / "out"
    try:
        result = quantify_scan(series_dir, out_dir=out)
    except InputError as error:  # the loader's refusals: localizer, contrast, not axial...
        return SeriesOutcome(series_uid, reason=str(error).replace(str(series_dir), "series"))
    stored: list[str] = []
    if store:
        objects = [dcmread(out / name) for name in ("seg.dcm", "sr.dcm") if (out / name).exists()]
        call(url, f"STOW-RS into study {study_uid}",
             lambda: client.store_instances(objects, study_instance_uid=study_uid))
        stored = [str(o.SOPInstanceUID) for o in objects]
    return SeriesOutcome(series_uid, result=result, stored=stored)


def scan_study(client: Any, url: str, study_uid: str, *, series_uid: str | None = None,
               store: bool = False) -> list[SeriesOutcome]:
    """Quantify the CT series of a study on a DICOMweb server.

    Parameters
    ----------
    client : dicomweb_client.DICOMwebClient
        From :func:`connect`.
    url : str
        The service root (named in error messages).
    study_uid : str
        Study Instance UID.
    series_uid : str, optional
        Score this series only; else every CT series of the study is tried (the loader
        refuses localizers, contrast-enhanced and non-axial series, each with its reason).
    store : bool
        STOW-RS the SEG and SR of each scored series back into the study.

    Returns
    -------
    list of SeriesOutcome
        One per CT series tried; at least one is scored.

    Raises
    ------
    InputError
        The server is unreachable or refuses a request, the study has no CT series, or no
        series could be scored (the reasons of each are named).
    """
    candidates = ct_series(client, url, study_uid)
    if series_uid is not None:
        if series_uid not in candidates:
            raise InputError(url, f"series {series_uid}", f"is not a CT series of study "
                                                          f"{study_uid}")
        candidates = [series_uid]
    outcomes = []
    for uid in candidates:
        with tempfile.TemporaryDirectory(prefix="ectocalc-pacs-") as work:
            outcomes.append(_score(client, url, study_uid, uid, Path(work), store))
    if not any(o.result for o in outcomes):
        raise InputError(url, f"study {study_uid}", "no series could be scored: " + "; ".join(
            f"{o.series_uid}: {o.reason}" for o in outcomes))
    return outcomes
