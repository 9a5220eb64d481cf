"""A result is read as the patient's only when its subject names that Patient (real Synthea
shapes, changed at run time): the one-Patient reader and the Bundle splitter resolve references
the same way and refuse, by entry, a subject that names no Patient of the Bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ectocalc.errors import InputError
from ectocalc.io.case_file import load_case
from ectocalc.record._fhir_split import split_bundle
from synthea import MRN, needs_synthea, patient_of, slim_bundle, values

pytestmark = needs_synthea


def _load(tmp_path: Path, bundle: dict[str, Any]) -> Any:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return load_case(path)


def _refusal(tmp_path: Path, bundle: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as caught:
        _load(tmp_path, bundle)
    return caught.value


def _mrn(patient: dict[str, Any]) -> str:
    return str(next(i["value"] for i in patient["identifier"] if i.get("system") == MRN))


@pytest.mark.parametrize("subject", [
    {"reference": "Patient/someone-else"},
    {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"},
    {"identifier": {"system": MRN, "value": "another-patients-mrn"}},
    {"identifier": {"system": "urn:other-hospital", "value": "MRN-OF-LOUIS"}},  # value swapped in
    {"reference": "Group/cohort-1"},
    {"display": "Louis Maggio"},
])
def test_wrong_subject_in_a_one_patient_bundle_is_refused_by_entry(
        tmp_path: Path, subject: dict[str, Any]) -> None:
    bundle = slim_bundle("Louis_Maggio")
    if subject.get("identifier", {}).get("value") == "MRN-OF-LOUIS":  # right value, wrong system
        subject = {"identifier": {**subject["identifier"],
                                  "value": _mrn(patient_of(bundle))}}
    bundle["entry"][2]["resource"]["subject"] = subject
    refused = _refusal(tmp_path, bundle)
    assert refused.field == "entry[2].resource.subject"
    assert "not a Patient of this Bundle" in refused.message


def test_each_reference_form_naming_the_patient_is_read(tmp_path: Path) -> None:
    bundle = slim_bundle("Louis_Maggio")
    patient = patient_of(bundle)
    forms = [{"reference": f"Patient/{patient['id']}"},
             {"identifier": {"system": MRN, "value": _mrn(patient)}},
             {"reference": f"Patient?identifier={MRN}|{_mrn(patient)}"}]
    for entry, subject in zip(bundle["entry"][2:], forms, strict=True):
        entry["resource"]["subject"] = subject
    case = _load(tmp_path, bundle)
    assert sorted(lab.value for lab in case.labs) == values(bundle)
    assert (case.patient.id, case.patient.sex) == (patient["identifier"][0]["value"], "male")


@pytest.mark.parametrize("value", [100234, True, 1.5])
def test_a_patient_identifier_that_is_not_a_string_is_refused(tmp_path: Path,
                                                              value: object) -> None:
    bundle = slim_bundle("Louis_Maggio", observations=1)
    patient_of(bundle)["identifier"][0]["value"] = value
    refused = _refusal(tmp_path, bundle)
    assert refused.field == "entry[0].resource.identifier[0].value"
    assert "must be a string" in refused.message


def _recombined() -> dict[str, Any]:
    """Two Synthea patients' entries in one Bundle (Louis's, then Clarine's)."""
    louis, clarine = slim_bundle("Louis_Maggio", observations=2), slim_bundle("Clarine_O'Keefe",
                                                                             observations=3)
    return {**louis, "type": "collection", "entry": louis["entry"] + clarine["entry"]}


def test_a_recombined_bundle_is_split_by_subject(tmp_path: Path) -> None:
    bundle = _recombined()
    parts = split_bundle(bundle, source="b.json")
    louis, clarine = (p.case for p in parts)
    assert [p.key for p in parts] == [patient_of({"entry": [bundle["entry"][i]]})[
        "identifier"][0]["value"] for i in (0, 3)]
    assert sorted(lab.value for lab in louis.labs) == values({"entry": bundle["entry"][:3]})
    assert sorted(lab.value for lab in clarine.labs) == values({"entry": bundle["entry"][3:]})
    assert (louis.patient.sex, clarine.patient.sex) == ("male", "female")
    assert (MRN, _mrn(bundle["entry"][3]["resource"])) in parts[1].identifiers


def test_one_mechanism_for_one_and_two_patients(tmp_path: Path) -> None:
    """The same wrong subject is refused with the same field in both readers."""
    bundle = _recombined()
    bundle["entry"][4]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    with pytest.raises(InputError) as split:
        split_bundle(bundle, source="b.json")
    one = {**bundle, "entry": bundle["entry"][3:]}
    assert split.value.field == "entry[4].resource.subject"
    assert _refusal(tmp_path, one).field == "entry[1].resource.subject"


def test_a_bundle_without_patient_must_name_one_patient(tmp_path: Path) -> None:
    bundle = slim_bundle("Louis_Maggio", observations=2)
    bundle["entry"] = bundle["entry"][1:]
    assert len(split_bundle(bundle, source="b.json", patient_id="P-7")[0].case.labs) == 2
    bundle["entry"][1]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    with pytest.raises(InputError) as caught:
        split_bundle(bundle, source="b.json", patient_id="P-7")
    assert caught.value.field == "entry[1].resource.subject"


def test_a_uuid_reference_names_the_patient_of_that_id(tmp_path: Path) -> None:
    """Resources taken out of a Synthea transaction keep ``urn:uuid:`` references while the
    Patient is now known by ``Patient/id`` (a CDS Hooks prefetch): the UUID still names it."""
    bundle = slim_bundle("Louis_Maggio", observations=2)
    patient = patient_of(bundle)
    bundle["entry"][0]["fullUrl"] = f"Patient/{patient['id']}"
    for entry in bundle["entry"][1:]:
        assert entry["resource"]["subject"]["reference"] == f"urn:uuid:{patient['id']}"
    assert sorted(lab.value for lab in _load(tmp_path, bundle).labs) == values(bundle)
    bundle["entry"][1]["resource"]["subject"]["reference"] = \
        "urn:uuid:00000000-0000-4000-8000-000000000000"
    assert _refusal(tmp_path, bundle).field == "entry[1].resource.subject"
