"""``pacs watch``: score each new study of a PACS once, resumably (contract §9) (private).

New studies come from Orthanc's change feed (``/changes``, ``StableStudy`` events: the study
has received no instance for Orthanc's ``StableAge`` seconds) when the server is Orthanc, else
from QIDO-RS polling by StudyDate (from the date of the previous pass on). A state file (JSON)
keeps each processed study as done or failed with its reason, and the feed position, so a
restarted watcher carries on where it stopped and never scores a study twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from ectocalc.errors import InputError
from ectocalc.io.files import atomic_write
from ectocalc.pacs._client import ServerError, call
from ectocalc.pacs._scan import scan_study

Feed = Literal["auto", "orthanc", "qido"]
_STUDY_UID = "0020000D"


@dataclass
class StudyState:
    """One processed study: ``done`` (with its Agatston score) or ``failed`` (with why)."""

    study_uid: str
    status: Literal["done", "failed"]
    at: str
    agatston: float | None = None
    reason: str | None = None


@dataclass
class WatchState:
    """What a watcher has done: studies processed and where each feed stopped."""

    studies: dict[str, StudyState] = field(default_factory=dict)
    orthanc_since: int = 0
    """Sequence number of the last Orthanc change read."""
    qido_from: str | None = None
    """StudyDate (YYYYMMDD) of the previous QIDO pass."""

    @classmethod
    def load(cls, path: Path) -> WatchState:
        """Read ``path`` (a missing file is a fresh state).

        Raises
        ------
        InputError
            The file is not a watch state.
        """
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text())
            return cls(studies={uid: StudyState(**s) for uid, s in data["studies"].items()},
                       orthanc_since=int(data["orthanc_since"]), qido_from=data["qido_from"])
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(path, "state", f"is not a pacs watch state file ({error})") from None

    def save(self, path: Path) -> None:
        """Write the state atomically (a crash leaves the previous state whole)."""
        text = json.dumps({"studies": {u: asdict(s) for u, s in self.studies.items()},
                           "orthanc_since": self.orthanc_since, "qido_from": self.qido_from},
                          indent=2)
        atomic_write(path, lambda tmp: tmp.write_text(text))


def _orthanc_root(url: str, http: Any) -> str | None:
    """Orthanc's REST root when ``url`` is an Orthanc DICOMweb root, else None."""
    import requests

    root = url.rstrip("/").removesuffix("/dicom-web")
    try:
        reply = http.get(f"{root}/system", timeout=30)
        info = reply.json() if reply.ok else {}
    except (requests.RequestException, ValueError):
        return None
    return root if isinstance(info, dict) and "ApiVersion" in info else None


def _orthanc_new_studies(root: str, http: Any, state: WatchState) -> tuple[list[str], int]:
    """Study UIDs of the ``StableStudy`` changes after ``state.orthanc_since``, and the last
    sequence number read."""
    uids: list[str] = []
    since = state.orthanc_since
    while True:
        page = call(root, "/changes", partial(_json, http, f"{root}/changes", since=since,
                                              limit=100))
        for change in page["Changes"]:
            if change["ChangeType"] == "StableStudy":
                study = call(root, "/studies", partial(_json, http,
                                                       f"{root}/studies/{change['ID']}"))
                uids.append(study["MainDicomTags"]["StudyInstanceUID"])
        since = int(page["Last"])
        if page["Done"]:
            return uids, since


def _json(http: Any, url: str, **params: Any) -> Any:
    reply = http.get(url, params=params, timeout=60)
    reply.raise_for_status()
    return reply.json()


def _qido_new_studies(client: Any, url: str, state: WatchState) -> list[str]:
    filters = {"StudyDate": f"{state.qido_from}-"} if state.qido_from else {}
    found = call(url, "QIDO-RS studies", lambda: client.search_for_studies(
        search_filters=filters, get_remaining=True))
    return [s[_STUDY_UID]["Value"][0] for s in found]


def watch_pass(url: str, *, client: Any, http: Any, state: WatchState, state_path: Path,
               feed: Feed = "auto") -> list[StudyState]:
    """One pass: score and store every study not yet in ``state``; the state is saved after
    each study.

    Parameters
    ----------
    url : str
        DICOMweb service root.
    client, http
        The DICOMweb client and the authenticated ``requests.Session`` (:func:`connect`).
    state, state_path
        What was done before; updated and saved in place.
    feed : {"auto", "orthanc", "qido"}
        Where new studies come from; ``auto`` uses Orthanc's change feed when the server
        is Orthanc.

    Returns
    -------
    list of StudyState
        The studies processed in this pass, in order.

    Raises
    ------
    InputError
        The server cannot be reached or refuses the feed; ``orthanc`` asked of a server
        that is not Orthanc. Studies processed before are saved.
    """
    root = _orthanc_root(url, http) if feed != "qido" else None
    if feed == "orthanc" and root is None:
        raise InputError(url, "--feed", "orthanc: the server is not Orthanc (no /system)")
    started = datetime.now(UTC)
    if root is not None:
        uids, since = _orthanc_new_studies(root, http, state)
    else:
        uids, since = _qido_new_studies(client, url, state), state.orthanc_since
    processed = []
    for uid in dict.fromkeys(uids):
        if uid in state.studies:
            continue
        at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            outcomes = scan_study(client, url, uid, store=True)
        except ServerError:
            raise  # the server, not the study: stop; the study is tried again next pass
        except InputError as error:
            done = StudyState(uid, "failed", at, reason=str(error))
        else:
            scored = next(o.result for o in outcomes if o.result is not None)
            done = StudyState(uid, "done", at, agatston=scored.agatston)
        state.studies[uid] = done
        state.save(state_path)
        processed.append(done)
    state.orthanc_since = since
    if root is None:
        state.qido_from = started.strftime("%Y%m%d")
    state.save(state_path)
    return processed
