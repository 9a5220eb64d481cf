"""CDS fixtures: the loopback server (JWK Set, FHIR test double), the EHR's key, the app."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cds_helpers import BASE, ISS, KID, Ehr, Loopback, _server
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from ectocalc.cds import trust_issuer
from ectocalc.web import WebConfig, create_app
from ectocalc.web._cds import CdsState


@pytest.fixture(scope="session")
def loopback() -> Iterator[Loopback]:
    served = Loopback()
    server = _server(served)
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def ehr_key() -> ECKey:
    """The EHR's signing key (EC P-384, ES384) and its public JWK Set on the loopback server."""
    return ECKey.generate_key("P-384", parameters={"kid": KID, "alg": "ES384", "use": "sig"})


@pytest.fixture
def ehr(tmp_path: Path, ehr_key: ECKey, loopback: Loopback) -> Iterator[Ehr]:
    loopback.routes["/jwks.json"] = {"keys": [ehr_key.as_dict(private=False)]}
    trust_file = tmp_path / "cds-trust.json"
    trust_issuer(trust_file, ISS, loopback.url("/jwks.json"),
                 jku=(loopback.url("/jwks-rotated.json"),))
    app = create_app(WebConfig(db_url=f"sqlite:///{tmp_path / 'record.db'}",
                               data_dir=tmp_path / "web"))
    app.state.cds = CdsState(trust_file=trust_file)
    with TestClient(app, base_url=BASE) as client:
        yield Ehr(client=client, key=ehr_key, loopback=loopback, trust_file=trust_file)
