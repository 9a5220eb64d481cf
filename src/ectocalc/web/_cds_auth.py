"""Authentication of the EHR on every CDS Hooks call (CDS Hooks 2.0, "Trusting CDS Clients").

The EHR signs a JWT and sends it as ``Authorization: Bearer``. Accepted only when:

- the header has ``alg`` ES384 or RS384 (never ``none`` or a symmetric algorithm), ``kid``
  and ``typ`` ``JWT``;
- ``iss`` is a trusted issuer (``ectocalc cds trust``);
- the key is found by ``kid`` in the JWK Set at the header's ``jku`` (only when that URL is one
  the issuer was trusted with) or else at the issuer's configured JWK Set URL;
- the signature verifies; ``aud`` is this service endpoint's URL; ``exp`` is in the future
  and ``iat`` not in the future (30 s leeway for clocks); ``jti`` has not been seen before
  (kept until the token expires).

Anything else raises :class:`CdsUnauthorized` (the route answers 401). JWK Sets are fetched
with httpx and cached for five minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from ectocalc.cds._trust import Issuer

ALGORITHMS = ("ES384", "RS384")
"""CDS Hooks 2.0 recommends ES384 and RS384."""
LEEWAY_S = 30
JWKS_TTL_S = 300.0


class CdsUnauthorized(Exception):
    """The call's JWT is missing or not acceptable (the reason is for the server, not PHI)."""


@dataclass
class JwksCache:
    """JWK Sets by URL, fetched over HTTP(S) and kept for :data:`JWKS_TTL_S` seconds."""

    fetch: Callable[[str], Any] | None = None
    _sets: dict[str, tuple[float, KeySet]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, url: str) -> KeySet:
        """The key set at ``url``.

        Raises
        ------
        CdsUnauthorized
            It cannot be fetched or is not a JWK Set.
        """
        with self._lock:
            cached = self._sets.get(url)
            if cached is not None and time.monotonic() - cached[0] < JWKS_TTL_S:
                return cached[1]
        try:
            document = (self.fetch or _fetch)(url)
            keys = KeySet.import_key_set(document)
        except (httpx.HTTPError, ValueError, TypeError, KeyError, JoseError) as error:
            raise CdsUnauthorized(f"JWK Set not usable ({type(error).__name__})") from None
        with self._lock:
            self._sets[url] = (time.monotonic(), keys)
        return keys


def _fetch(url: str) -> Any:
    response = httpx.get(url, timeout=10.0, follow_redirects=False)
    response.raise_for_status()
    return response.json()


@dataclass
class ReplayGuard:
    """The ``jti`` values seen, each kept until its token expires."""

    _seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first_use(self, iss: str, jti: str, expires: float, now: float) -> bool:
        """True the first time (``iss``, ``jti``) is presented; records it."""
        with self._lock:
            for key in [k for k, until in self._seen.items() if until < now]:
                del self._seen[key]
            if (iss, jti) in self._seen:
                return False
            self._seen[(iss, jti)] = expires + LEEWAY_S
            return True


@dataclass
class CdsAuth:
    """Everything needed to check a call's JWT."""

    issuers: Mapping[str, Issuer]
    jwks: JwksCache = field(default_factory=JwksCache)
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    clock: Callable[[], float] = time.time

    def verify(self, authorization: str | None, audiences: tuple[str, ...]) -> dict[str, Any]:
        """The verified claims of the bearer JWT, for a call to one of ``audiences``.

        Raises
        ------
        CdsUnauthorized
            Naming what failed.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise CdsUnauthorized("no bearer token")
        token = token.strip()
        try:
            unverified = extract_compact(token.encode("ascii"))
            header = unverified.headers()
            claimed = json.loads(unverified.payload)
        except (JoseError, ValueError, UnicodeError, TypeError) as error:
            raise CdsUnauthorized(f"not a JWS compact token ({type(error).__name__})") from None
        alg, kid, jku = header.get("alg"), header.get("kid"), header.get("jku")
        if alg not in ALGORITHMS:
            raise CdsUnauthorized(f"algorithm {alg!r} is not one of {', '.join(ALGORITHMS)}")
        if not isinstance(kid, str) or not kid:
            raise CdsUnauthorized("no kid in the header")
        if str(header.get("typ", "")).upper() != "JWT":
            raise CdsUnauthorized("typ is not JWT")
        iss = claimed.get("iss") if isinstance(claimed, dict) else None
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise CdsUnauthorized("untrusted issuer")
        if jku is not None and jku not in issuer.allowed_jku:
            raise CdsUnauthorized("jku is not one the issuer was trusted with")
        keys = self.jwks.get(jku or issuer.jwks_url)
        try:
            key = keys.get_by_kid(kid)
        except (ValueError, KeyError, JoseError):
            raise CdsUnauthorized("no key with this kid in the JWK Set") from None
        now = self.clock()
        try:
            verified = jwt.decode(token, key, algorithms=[alg])
            registry = jwt.JWTClaimsRegistry(
                now=int(now), leeway=LEEWAY_S,
                iss={"essential": True, "value": issuer.iss},
                aud={"essential": True, "values": list(audiences)},
                exp={"essential": True}, iat={"essential": True}, jti={"essential": True})
            registry.validate(verified.claims)
        except (JoseError, ValueError, TypeError) as error:
            raise CdsUnauthorized(f"token refused ({type(error).__name__}: "
                                  f"{getattr(error, 'description', '')})") from None
        claims = verified.claims
        if not isinstance(claims["iat"], int | float) or claims["iat"] > now + LEEWAY_S:
            raise CdsUnauthorized("iat is in the future")
        if not isinstance(claims["jti"], str) or not self.replay.first_use(
                issuer.iss, claims["jti"], float(claims["exp"]), now):
            raise CdsUnauthorized("jti already used (replay)")
        return claims
