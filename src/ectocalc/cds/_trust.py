"""The EHRs (JWT issuers) a CDS Hooks service trusts, kept in a JSON file.

``ectocalc cds trust ISS JWKS_URL`` adds or replaces an issuer; ``ectocalc serve`` reads the
file at start-up. The file: ``{"issuers": {"<iss>": {"jwks_url": "...", "jku": [...]}}}``
(``jku``: further JWK Set URLs the EHR may name in a token's ``jku`` header).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ectocalc.errors import InputError

TRUST_ENV = "ECTOCALC_CDS_TRUST"


@dataclass(frozen=True)
class Issuer:
    """One trusted EHR: its ``iss``, configured JWK Set URL and the ``jku`` URLs allowed."""

    iss: str
    jwks_url: str
    jku: tuple[str, ...] = field(default=())

    @property
    def allowed_jku(self) -> frozenset[str]:
        """The JWK Set URLs a token of this issuer may name (the configured one included)."""
        return frozenset((self.jwks_url, *self.jku))


def default_trust_file() -> Path:
    """``$ECTOCALC_CDS_TRUST``, else ``cds-trust.json`` in the user's configuration folder."""
    given = os.environ.get(TRUST_ENV)
    if given:
        return Path(given)
    from platformdirs import user_config_path

    return user_config_path("ectocalc", appauthor=False) / "cds-trust.json"


def _url(value: str, field_name: str, source: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise InputError(source, field_name, f"{value!r} is not an http(s) URL")
    return value


def read_trust(path: Path) -> dict[str, Issuer]:
    """The trusted issuers of ``path`` (none when the file does not exist).

    Raises
    ------
    InputError
        The file is not a trust file (names the file and the field).
    """
    if not path.exists():
        return {}
    source = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(source, "", f"not readable JSON ({type(error).__name__})") from None
    issuers = document.get("issuers") if isinstance(document, dict) else None
    if not isinstance(issuers, dict):
        raise InputError(source, "issuers", "must be an object of issuer → settings")
    found = {}
    for iss, settings in issuers.items():
        where = f"issuers[{iss!r}]"
        if not isinstance(settings, dict) or not isinstance(settings.get("jwks_url"), str):
            raise InputError(source, f"{where}.jwks_url", "missing")
        jku = settings.get("jku", [])
        if not isinstance(jku, list) or not all(isinstance(u, str) for u in jku):
            raise InputError(source, f"{where}.jku", "must be a list of URLs")
        found[iss] = Issuer(iss=iss, jwks_url=_url(settings["jwks_url"], f"{where}.jwks_url",
                                                   source),
                            jku=tuple(_url(u, f"{where}.jku", source) for u in jku))
    return found


def trust_issuer(path: Path, iss: str, jwks_url: str, *, jku: tuple[str, ...] = ()) -> Issuer:
    """Add (or replace) a trusted issuer in ``path``, written atomically.

    Raises
    ------
    InputError
        A URL is not http(s), or the existing file is not a trust file.
    """
    from ectocalc.io.files import atomic_write

    issuer = Issuer(iss=iss, jwks_url=_url(jwks_url, "JWKS_URL", "cds trust"),
                    jku=tuple(_url(u, "--jku", "cds trust") for u in jku))
    issuers = read_trust(path)
    issuers[iss] = issuer
    document = {"issuers": {i.iss: {"jwks_url": i.jwks_url, "jku": list(i.jku)}
                            for i in issuers.values()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return issuer
