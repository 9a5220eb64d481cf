"""Fixtures of the PACS tests: a real Orthanc on loopback (see :mod:`orthanc_server`)."""

from orthanc_server import netrc_env, orthanc

__all__ = ["netrc_env", "orthanc"]
