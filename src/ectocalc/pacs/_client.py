"""A DICOMweb client (dicomweb-client over requests) with this project's authentication and
error reporting (private)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ectocalc.errors import InputError

T = TypeVar("T")


class ServerError(InputError):
    """The server could not be reached or failed (5xx): nothing is wrong with the study, so
    ``pacs watch`` stops the pass and tries the study again on the next one."""


def session(token: str | None = None) -> Any:
    """A ``requests.Session`` sending ``token`` as a bearer token; without one, requests reads
    the netrc entry of each host (``$NETRC`` or ``~/.netrc``) and sends HTTP Basic."""
    import requests

    authenticated = requests.Session()  # trust_env: the netrc entry for the host is used
    if token:
        authenticated.headers["Authorization"] = f"Bearer {token}"
    return authenticated


def connect(url: str, *, token: str | None = None) -> Any:
    """A ``DICOMwebClient`` for the service root ``url`` (e.g. ``http://pacs/dicom-web``).

    Requests are tried three times (1 s then 2 s apart) on a refused connection or a
    429/408/503/504 reply. Authentication: see :func:`session` (bearer ``token``, else the
    host's netrc entry).

    Raises
    ------
    InputError
        ``url`` is not an http(s) URL.
    """
    from urllib.parse import urlparse

    from dicomweb_client.api import DICOMwebClient

    if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise InputError(url, "URL", "is not an http(s) DICOMweb service root")
    client = DICOMwebClient(url.rstrip("/"), session=session(token), timeout=60)
    # Three attempts, 1 s then 2 s apart (on a refused connection, 429, 408, 503, 504):
    # the library's default five attempts keep a CLI waiting half a minute on a dead server.
    client.set_http_retry_params(max_attempts=3, wait_exponential_multiplier=500)
    return client


def call(url: str, what: str, request: Callable[[], T]) -> T:
    """Run one DICOMweb request; an unreachable server or an HTTP error becomes an
    :class:`InputError` naming the server and the request.

    Raises
    ------
    InputError
        An HTTP error status (4xx); :class:`ServerError` for connection refused, timeout, TLS
        failure or a 5xx status.
    """
    import requests

    try:
        return request()
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        hint = " (authentication: --token or a netrc entry)" if status in (401, 403) else ""
        kind = ServerError if status >= 500 else InputError
        raise kind(url, what, f"HTTP {status}{hint}") from None
    except requests.RequestException as error:
        raise ServerError(url, what, f"server unreachable ({type(error).__name__})") from None
