"""A real Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) on 127.0.0.1 for the PACS tests.

Started once per session with a throwaway storage folder, its DICOM port off, HTTP
authentication on (a user the tests reach through a netrc file, as a site would). Skips, saying
so, where the binary or the plugin is missing outside CI (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ectocalc.datasets import write_phantom

PLUGIN_DIRS = (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc"))
USER, PASSWORD = "ectocalc", "test-only-password"


def _plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        found = sorted(folder.glob("libOrthancDicomWeb.so*")) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Orthanc:
    root: str
    """REST root, e.g. ``http://127.0.0.1:PORT``."""
    netrc: Path

    @property
    def dicomweb(self) -> str:
        return f"{self.root}/dicom-web"

    def get(self, path: str) -> object:
        reply = requests.get(f"{self.root}{path}", auth=(USER, PASSWORD), timeout=30)
        reply.raise_for_status()
        return reply.json()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    binary, plugin = shutil.which("Orthanc") or "/usr/sbin/Orthanc", _plugin()
    if not Path(binary).exists() or plugin is None:
        if os.environ.get("CI"):
            pytest.fail("Orthanc or its DICOMweb plugin is missing in CI (.ci/run installs them)")
        pytest.skip("Orthanc with the DICOMweb plugin is not installed "
                    "(apt-get install orthanc orthanc-dicomweb)")
    folder = tmp_path_factory.mktemp("orthanc")
    port = _free_port()
    config = {
        "Name": "ectocalc-test", "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"), "Plugins": [str(plugin)],
        "HttpPort": port, "DicomServerEnabled": False, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD},
        "StableAge": 1, "HttpCompressionEnabled": False,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    netrc = folder / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    log = (folder / "orthanc.log").open("w")
    process = subprocess.Popen([binary, str(folder / "orthanc.json")], stdout=log,
                               stderr=subprocess.STDOUT)
    server = Orthanc(f"http://127.0.0.1:{port}", netrc)
    try:
        for _ in range(300):  # up to 30 s for the first start
            if process.poll() is not None:
                pytest.fail(f"Orthanc exited: {(folder / 'orthanc.log').read_text()[-2000:]}")
            try:
                server.get("/system")
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("Orthanc did not answer on loopback within 30 s")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def netrc_env(orthanc: Orthanc, monkeypatch: pytest.MonkeyPatch) -> Orthanc:
    """Orthanc's credentials in the netrc that requests reads (``$NETRC``)."""
    monkeypatch.setenv("NETRC", str(orthanc.netrc))
    return orthanc


def upload_phantom(orthanc: Orthanc, out: Path, *, seed: int) -> tuple[str, dict]:
    """Write a phantom series (its own study) and STOW-RS it; its Study UID and truth."""
    from dicomweb_client.api import DICOMwebClient
    from pydicom import dcmread

    truth_path = write_phantom(out, seed=seed)
    datasets = [dcmread(p) for p in sorted((out / "dicom").iterdir())]
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    DICOMwebClient(orthanc.dicomweb, session=session).store_instances(datasets)
    return str(datasets[0].StudyInstanceUID), json.loads(truth_path.read_text())
