"""Settings and the per-process state the routes share (record, sessions, jobs, caches)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ectocalc.web._security import PasswordChecks, SessionStore, SignInThrottle
from ectocalc.web._uploads import ZipLimits
from ectocalc.web._viewer import StackCache

if TYPE_CHECKING:
    from ectocalc.knowledge import Knowledge
    from ectocalc.record import Store
    from ectocalc.web._jobs import JobRunner
    from ectocalc.web._patients import PatientCache

DATA_DIR_ENV = "ECTOCALC_DATA_DIR"
TRUSTED_PROXIES_ENV = "ECTOCALC_TRUSTED_PROXIES"


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
    max_yaml_bytes : int
        Largest accepted YAML case file, bytes: YAML builds every value in Python and reads
        slower per byte than JSON even with libyaml; 1 MB (some 16,000 lab results, far beyond
        any real case file) keeps one import within the time and memory stated in
        ``docs/web.md`` (measured by ``bench/bench_yaml.py``).
    zip_limits : ZipLimits
        Bounds on an unpacked CT zip.
    https : bool, optional
        Mark cookies ``Secure``; default: when the request came over HTTPS.
    trusted_proxies : tuple of str
        Addresses or networks (``10.0.0.0/8``) of reverse proxies whose ``X-Forwarded-For``
        and ``X-Forwarded-Proto`` are believed (``serve --trusted-proxy``, else
        ``$ECTOCALC_TRUSTED_PROXIES``, comma-separated); default none: the headers are ignored.
    password_workers : int, optional
        Password checks run at once (default :func:`~ectocalc.web._security.password_workers`).
    knowledge : Knowledge, optional
        The knowledge bundle the pages judge with (default the packaged one).
    """

    db_url: str | None = None
    data_dir: Path | None = None
    max_upload_bytes: int = 1024**3
    max_case_bytes: int = 20 * 1024**2
    max_yaml_bytes: int = 1024**2
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    https: bool | None = None
    trusted_proxies: tuple[str, ...] = ()
    password_workers: int | None = None
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
    checks: PasswordChecks = field(default_factory=PasswordChecks)
    """The bounded pool where passwords are hashed and checked."""
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    """Sign-in attempts per account, address and (account, address)."""
    stacks: StackCache = field(default_factory=StackCache)

    @property
    def scans_dir(self) -> Path:
        """One sub-folder per imported CT: ``dicom/``, ``out/``, ``meta.json``."""
        return self.data_dir / "scans"
