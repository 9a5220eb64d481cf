"""Settings and the per-process state the routes share (record, sessions, jobs, caches)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ectocalc.web._security import LoginThrottle, SessionStore
from ectocalc.web._uploads import ZipLimits
from ectocalc.web._viewer import StackCache

if TYPE_CHECKING:
    from ectocalc.knowledge import Knowledge
    from ectocalc.record import Store
    from ectocalc.web._jobs import JobRunner
    from ectocalc.web._patients import PatientCache

DATA_DIR_ENV = "ECTOCALC_DATA_DIR"


def default_data_dir() -> Path:
    """Where imported CT series and their outputs go: ``$ECTOCALC_DATA_DIR``, else ``web/``
    in the user's data folder (beside the default record)."""
    given = os.environ.get(DATA_DIR_ENV)
    if given:
        return Path(given)
    from platformdirs import user_data_path

    return user_data_path("ectocalc", appauthor=False) / "web"


@dataclass(frozen=True)
class WebConfig:
    """How the web application runs.

    Parameters
    ----------
    db_url : str, optional
        SQLAlchemy URL of the record (contract §1 ``--db``); default as ``ectocalc record``.
    data_dir : Path, optional
        Folder for imported CT series and scan outputs (default :func:`default_data_dir`).
    max_upload_bytes : int
        Largest accepted upload (request body), bytes.
    max_case_bytes : int
        Largest accepted case file or FHIR Bundle, bytes.
    zip_limits : ZipLimits
        Bounds on an unpacked CT zip.
    https : bool, optional
        Mark cookies ``Secure``; default: when the request came over HTTPS.
    knowledge : Knowledge, optional
        The knowledge bundle the pages judge with (default the packaged one).
    """

    db_url: str | None = None
    data_dir: Path | None = None
    max_upload_bytes: int = 1024**3
    max_case_bytes: int = 20 * 1024**2
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    https: bool | None = None
    knowledge: Knowledge | None = None


@dataclass
class WebState:
    """Everything the routes of one application share."""

    config: WebConfig
    store: Store
    data_dir: Path
    jobs: JobRunner
    patients: PatientCache
    sessions: SessionStore = field(default_factory=SessionStore)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    """Failed sign-ins per user name: 5 in 15 minutes lock that name."""
    address_throttle: LoginThrottle = field(
        default_factory=lambda: LoginThrottle(attempts=30, window_s=900))
    """Failed sign-ins per client address (looser: a clinic may share one address)."""
    stacks: StackCache = field(default_factory=StackCache)

    @property
    def scans_dir(self) -> Path:
        """One sub-folder per imported CT: ``dicom/``, ``out/``, ``meta.json``."""
        return self.data_dir / "scans"
