"""The clinician web application (``ectocalc serve``, contract §6).

Server-rendered pages (Jinja2, htmx for partial updates, uPlot trend plots; every script and
style vendored under ``static/``) and a JSON API under ``/api`` over the patient record
(:mod:`ectocalc.record`). Users come from ``ectocalc user add``; sessions are server-side with
per-session CSRF tokens; every read or change of a patient is written to the record's audit log.

Examples
--------
>>> import tempfile, pathlib
>>> from fastapi.testclient import TestClient
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> app = create_app(WebConfig(db_url=f"sqlite:///{folder / 'r.db'}", data_dir=folder / "web"))
>>> with TestClient(app) as client:
...     client.get("/healthz").json(), client.get("/api/patients").status_code
({'status': 'ok'}, 401)
"""

from ectocalc.web._app import create_app
from ectocalc.web._logging import configure_server_logging
from ectocalc.web._security import ROLES, Role, hash_password, password_problem, verify_password
from ectocalc.web._state import TRUSTED_PROXIES_ENV, WebConfig, default_data_dir
from ectocalc.web._uploads import ZipLimits

__all__ = ["ROLES", "TRUSTED_PROXIES_ENV", "Role", "WebConfig", "ZipLimits",
           "configure_server_logging", "create_app", "default_data_dir", "hash_password",
           "password_problem", "verify_password"]
