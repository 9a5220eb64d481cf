"""De-identified cohort outputs: salted-hash ids, scrubbed DICOM and messages (private).

With ``--deidentify`` an item's id becomes ``h-`` + the first 16 hex digits of
SHA-256(salt ‖ id); the salt is read from ``DIR/salt`` (created once with 32 random bytes, so
reruns give the same ids) unless one is given. The DICOM SEG and SR an item writes copy the
patient module of the source CT: their patient name and id become the pseudonym and the birth
date and other identifying patient attributes are removed. Error messages lose the input
paths and the original id; every text output of the item (JSON, CSV, HTML) loses them and the
patient's id and birth date, and the assessment's patient id is the pseudonym. Names and birth
dates never reach the table (it holds sex, age and age band only).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from pathlib import Path

import pydicom

from ectocalc.errors import InputError
from ectocalc.io.files import atomic_write

SALT_FILE = "salt"
PSEUDONYM_DIGITS = 16
REMOVED_PATIENT_TAGS = ("PatientBirthDate", "PatientBirthTime", "OtherPatientIDs",
                        "OtherPatientIDsSequence", "OtherPatientNames", "PatientAddress",
                        "PatientTelephoneNumbers", "PatientMotherBirthName",
                        "MedicalRecordLocator", "PatientBirthName")
"""Patient attributes (PS3.15 Table E.1-1 identifiers) removed from the written DICOM."""


def load_salt(out_dir: Path, given: str | None) -> str:
    """The salt: ``given``, else the one stored in ``out_dir/salt`` (created on first use)."""
    if given is not None:
        if not given:
            raise InputError("--salt", "", "is empty")
        return given
    path = out_dir / SALT_FILE
    if not path.exists():
        atomic_write(path, lambda tmp: tmp.write_text(secrets.token_hex(32), encoding="ascii"))
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def pseudonym(salt: str, item_id: str) -> str:
    """The salted-hash id of ``item_id``.

    Examples
    --------
    >>> pseudonym("pepper", "MRN-0042")
    'h-ff7a3c088bbc27a4'
    """
    digest = hashlib.sha256(f"{salt}\0{item_id}".encode()).hexdigest()
    return f"h-{digest[:PSEUDONYM_DIGITS]}"


def scrub_dicom(folder: Path, name: str) -> None:
    """Replace the patient identity of every ``.dcm`` under ``folder`` by ``name``."""
    for path in sorted(folder.rglob("*.dcm")):
        dataset = pydicom.dcmread(path)
        dataset.PatientName = name
        dataset.PatientID = name
        for keyword in REMOVED_PATIENT_TAGS:
            if keyword in dataset:
                delattr(dataset, keyword)
        dataset.PatientIdentityRemoved = "YES"
        dataset.save_as(path)


TEXT_SUFFIXES = (".json", ".csv", ".html", ".txt", ".tsv")


def scrub_files(folder: Path, secrets_: Iterable[str]) -> None:
    """Apply :func:`scrub_text` to every text output under ``folder`` (paths in manifests)."""
    secrets_ = list(secrets_)
    for path in sorted(folder.rglob("*")):
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            text = path.read_text(encoding="utf-8")
            cleaned = scrub_text(text, secrets_)
            if cleaned != text:
                path.write_text(cleaned, encoding="utf-8")


def identity_of(patient: object) -> list[str]:
    """The identifying strings of a case's patient: id and birth date (ISO and DICOM forms)."""
    found = [getattr(patient, "id", None)]
    birth = getattr(patient, "birth_date", None)
    if birth is not None:
        found += [birth.isoformat(), birth.strftime("%Y%m%d")]
    return [value for value in found if value]


def scrub_text(text: str, secrets_: Iterable[str]) -> str:
    """``text`` with each of ``secrets_`` (paths, ids) replaced by ``<redacted>``.

    Examples
    --------
    >>> scrub_text("/data/smith/case.yaml: patient.sex: bad", ["/data/smith/case.yaml"])
    '<redacted>: patient.sex: bad'
    """
    for secret in sorted({s for s in secrets_ if s}, key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text
