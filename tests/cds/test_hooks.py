"""CDS Hooks calls as an EHR makes them: the specification's request shapes, patient-view on
the Synthea whole-life records, order-sign on a drafted phosphate binder, and FHIR searches
against a test double on loopback when the prefetch is missing."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime
from urllib.parse import quote

import cds_synthea as synthea
import pytest
from cds_helpers import BASE, ISS, Ehr

from ectocalc.record import audit_entries

needs_synthea = pytest.mark.skipif(not synthea.BUNDLES, reason="shared Synthea Bundles missing")
PATIENT_VIEW = "ectocalc-patient-view"


def _lab_codes(ehr: Ehr) -> set[str]:
    """The LOINC codes ectocalc's ``labs`` prefetch template asks for (from discovery)."""
    path = "/cds-services"
    doc = ehr.client.get(path, headers={"Authorization": f"Bearer {ehr.token(path)}"}).json()
    template = doc["services"][0]["prefetch"]["labs"]
    return {code.split("|")[1] for code in template.split("&code=")[1].split(",")}


def _request(hook: str, patient_id: str, prefetch: dict | None = None, **context: object
             ) -> dict:
    body: dict = {"hookInstance": str(uuid.uuid4()), "hook": hook,
                  "context": {"userId": "Practitioner/example", "patientId": patient_id,
                              "encounterId": "89284", **context}}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def _check_card(card: dict) -> None:
    """CDS Hooks 2.0 card attributes (and contract §8)."""
    assert uuid.UUID(card["uuid"])
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["source"]["label"] and card["source"]["url"].startswith(BASE)
    assert card["detail"]
    assert card["links"][0]["type"] == "absolute"
    assert card["links"][0]["url"].startswith(BASE + "/patients/")
    if "suggestions" in card:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
        assert all(reason["display"] for reason in card["overrideReasons"])


def test_the_specification_example_request_answers_an_empty_card_list(ehr: Ehr) -> None:
    """The spec's patient-view example (hookInstance, fhirServer, fhirAuthorization, context):
    a 100-year-old with no results, conditions or medications has nothing to act on."""
    body = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "http://hooks.smarthealthit.org:9080", "hook": "patient-view",
        "fhirAuthorization": {"access_token": "some-opaque-fhir-access-token",
                              "token_type": "Bearer", "expires_in": 300,
                              "scope": "patient/Patient.read patient/Observation.read",
                              "subject": "cds-service4"},
        "context": {"userId": "Practitioner/example", "patientId": "1288992",
                    "encounterId": "89284"},
        "prefetch": {"patient": {"resourceType": "Patient", "gender": "male",
                                 "birthDate": "1925-12-23", "id": "1288992", "active": True},
                     "labs": None, "conditions": None, "medications": None}}
    answer = ehr.call(PATIENT_VIEW, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"cards": []}
    call = next(e for e in audit_entries(ehr.client.app.state.web.store)
                if e.action == "cds_call")
    assert (call.username, call.patient_id) == (ISS, "1288992")
    assert "hookInstance=d1577c69-dfbe-44ad-ba6d-3e05e953b2ea cards=0" in call.detail


def test_missing_prefetch_without_a_fhir_server_is_412(ehr: Ehr) -> None:
    body = _request("patient-view", "1288992", {"patient": {
        "resourceType": "Patient", "id": "1288992", "gender": "male",
        "birthDate": "1925-12-23"}})
    answer = ehr.call(PATIENT_VIEW, body)
    assert answer.status_code == 412
    assert "prefetch 'labs' missing" in answer.json()["detail"]


def test_a_request_for_another_hook_or_without_patient_is_400(ehr: Ehr) -> None:
    assert ehr.call(PATIENT_VIEW, _request("order-sign", "p1")).status_code == 400
    body = _request("patient-view", "p1")
    del body["context"]["patientId"]
    assert ehr.call(PATIENT_VIEW, body).status_code == 400
    assert ehr.call(PATIENT_VIEW, {"hook": "patient-view"}).status_code == 400


@needs_synthea
@pytest.mark.parametrize("name", ["Coleman_Ortiz", "Clarine_O'Keefe", "Emery_Purdy",
                                  "Evelyn_McCullough", "Tarsha_Stokes"])
def test_patient_view_cards_follow_from_the_synthea_record(ehr: Ehr, name: str) -> None:
    path = synthea.named(name)
    shows = synthea.kidney(path)
    patient = next(r for r in synthea.resources(path) if r["resourceType"] == "Patient")
    answer = ehr.call(PATIENT_VIEW, _request("patient-view", patient["id"],
                                             synthea.prefetch(path, _lab_codes(ehr))))
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    for card in cards:
        _check_card(card)
    # the record key is the Patient's identifier (contract §5), linked to its page
    key = patient["identifier"][0]["value"]
    assert all(c["links"][0]["url"] == f"{BASE}/patients/{quote(key, safe='')}" for c in cards)
    monitoring = [c for c in cards if c["summary"].startswith("Monitoring overdue")]
    if shows["chronic"] and shows["egfr"] is not None and shows["egfr"] < 60:
        # KDIGO 2017 3.1.2: calcium and phosphate every 6-12 months from G3a (1-3 in G4),
        # PTH and alkaline phosphatase timed from G4; the last results are years old
        stage = synthea.gfr_category(shows["egfr"])
        assert len(monitoring) == 1, (stage, [c["summary"] for c in cards])
        summary = monitoring[0]["summary"]
        assert "serum calcium" in summary and "serum phosphate" in summary
        assert ("pth" in summary) == (stage in {"G4", "G5"})
        assert f"last {shows['last_calcium'].isoformat()}" in monitoring[0]["detail"]
        assert monitoring[0]["indicator"] == "warning"
    if not shows["chronic"] and not shows["ever_below_60"]:
        assert monitoring == []
    # total calcium without albumin to correct it, against the adult interval
    hypo = [c for c in cards if "Hypocalcaemia" in c["summary"]]
    low = synthea.ADULT_CALCIUM_MG_DL[0]
    if not shows["albumin_measured"] and shows["calcium_value"] is not None:
        assert (date.today() - shows["born"]).days / 365.25 >= 18
        expected = 7.6 <= shows["calcium_value"] < low
        assert bool(hypo) == expected, (shows["calcium_value"], [c["summary"] for c in cards])
        if expected:
            assert hypo[0]["indicator"] == "warning"
            assert f"{shows['calcium_value']:.6g}"[:4] in hypo[0]["summary"]
    # nothing critical in these records: no critical card
    assert all(c["indicator"] != "critical" for c in cards)


@needs_synthea
def test_a_critical_potassium_today_gives_a_critical_card(ehr: Ehr) -> None:
    """The Synthea record plus today's potassium of 7.1 mmol/L, beyond the critical limit
    (references: potassium critical above 6.0-6.5 mmol/L)."""
    path = synthea.named("Emery_Purdy")
    prefetch = copy.deepcopy(synthea.prefetch(path, _lab_codes(ehr)))
    patient = prefetch["patient"]
    prefetch["labs"]["entry"].append({"resource": {
        "resourceType": "Observation", "id": "k-today", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3",
                             "display": "Potassium [Moles/volume] in Serum or Plasma"}]},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "effectiveDateTime": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "valueQuantity": {"value": 7.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                          "code": "mmol/L"}}})
    cards = ehr.call(PATIENT_VIEW, _request("patient-view", patient["id"], prefetch)).json()
    critical = [c for c in cards["cards"] if c["indicator"] == "critical"]
    assert len(critical) == 1 and "Potassium 7.1 mmol/L" in critical[0]["summary"]
    # 7.1 >= 6.5 mmol/L: severe hyperkalaemia (UK Kidney Association 2020), on the same card
    assert "Severe hyperkalaemia" in critical[0]["detail"]
    assert cards["cards"][0] is not None and cards["cards"][0]["indicator"] == "critical"


@needs_synthea
def test_order_sign_binder_with_normal_phosphate_suggests_removing_it(ehr: Ehr) -> None:
    """A normal phosphate measured today (3.4 mg/dL, adult interval 2.5-4.5) and a drafted
    sevelamer: a warning card whose suggestion deletes the draft, with override reasons."""
    path = synthea.named("Clarine_O'Keefe")
    prefetch = copy.deepcopy(synthea.prefetch(path, _lab_codes(ehr)))
    patient = prefetch["patient"]
    prefetch["labs"]["entry"].append({"resource": {
        "resourceType": "Observation", "id": "phos-today", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2777-1"}]},
        "effectiveDateTime": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "valueQuantity": {"value": 3.4, "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                          "code": "mg/dL"}}})
    drafts = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "MedicationRequest", "id": "smart-MedicationRequest-103",
                      "status": "draft", "intent": "order",
                      "subject": {"reference": f"Patient/{patient['id']}"},
                      "medicationCodeableConcept": {"text": "Sevelamer carbonate 800 MG Oral "
                                                            "Tablet", "coding": [{
                          "system": "http://www.whocc.no/atc", "code": "V03AE02"}]}}},
        {"resource": {"resourceType": "MedicationRequest", "id": "smart-MedicationRequest-104",
                      "status": "draft", "intent": "order",
                      "medicationCodeableConcept": {"text": "Amoxicillin 500 MG Oral Capsule"}}}]}
    body = _request("order-sign", patient["id"], prefetch, draftOrders=drafts)
    answer = ehr.call("ectocalc-order-sign", body)
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    assert len(cards) == 1  # the antibiotic raises nothing
    card = cards[0]
    _check_card(card)
    assert card["indicator"] == "warning"
    assert card["summary"] == "Phosphate binder drafted, but phosphate is not high"
    assert "Phosphate (as P) 3.4 mg/dL (normal)" in card["detail"]
    assert "KDIGO 2017 CKD-MBD 4.1.5" in card["detail"]
    action = card["suggestions"][0]["actions"][0]
    assert (action["type"], action["resourceId"]) == (
        "delete", "MedicationRequest/smart-MedicationRequest-103")
    assert action["description"].startswith("Remove Sevelamer carbonate")
    assert len(card["overrideReasons"]) >= 2
    # order-select checks only the orders the clinician selected
    body = _request("order-select", patient["id"], prefetch, draftOrders=drafts,
                    selections=["MedicationRequest/smart-MedicationRequest-104"])
    assert ehr.call("ectocalc-order-select", body).json() == {"cards": []}


@needs_synthea
def test_without_prefetch_the_service_searches_the_fhir_server_and_follows_pages(
        ehr: Ehr) -> None:
    """A test double of the EHR's FHIR server (none can be installed here) serves the searches
    in pages of 50 with ``link`` ``next``; every request carries fhirAuthorization's token."""
    path = synthea.named("Coleman_Ortiz")
    lab_codes = _lab_codes(ehr)
    data = synthea.prefetch(path, lab_codes)
    patient = data["patient"]
    pid = patient["id"]
    routes = ehr.loopback.routes
    prefix = f"/fhir{uuid.uuid4().hex[:6]}"
    routes[f"{prefix}/Patient/{pid}"] = patient
    for key, kind, query in (("labs", "Observation", None), ("conditions", "Condition", None),
                             ("medications", "MedicationRequest", None)):
        entries = data[key]["entry"]
        pages = [entries[i:i + 50] for i in range(0, max(len(entries), 1), 50)]
        template = {"labs": "Observation?patient={p}&code=" + ",".join(
            f"http://loinc.org|{c}" for c in sorted(lab_codes)),
            "conditions": "Condition?patient={p}",
            "medications": "MedicationRequest?patient={p}"}[key].format(p=pid)
        del query
        for number, page in enumerate(pages):
            here = f"{prefix}/{template}" if number == 0 else f"{prefix}/{kind}?page={number}"
            bundle = {"resourceType": "Bundle", "type": "searchset", "entry": page, "link": []}
            if number + 1 < len(pages):
                bundle["link"] = [{"relation": "next",
                                   "url": ehr.loopback.url(f"{prefix}/{kind}?page={number + 1}")}]
            routes[here] = bundle
    ehr.loopback.requests.clear()
    body = _request("patient-view", pid)
    body["fhirServer"] = ehr.loopback.url(prefix)
    body["fhirAuthorization"] = {"access_token": "opaque-token-42", "token_type": "Bearer",
                                 "expires_in": 300, "scope": "patient/*.read",
                                 "subject": "ectocalc"}
    answer = ehr.call(PATIENT_VIEW, body)
    assert answer.status_code == 200, answer.text
    fetched = [p for p, _ in ehr.loopback.requests if p.startswith(prefix)]
    assert len(data["labs"]["entry"]) > 50  # the labs come in several pages, all followed
    assert sum("Observation?page=" in p for p in fetched) == (len(data["labs"]["entry"]) - 1) // 50
    assert all(auth == "Bearer opaque-token-42" for p, auth in ehr.loopback.requests
               if p.startswith(prefix))
    with_prefetch = ehr.call(PATIENT_VIEW, _request("patient-view", pid, data)).json()
    strip = lambda cards: [(c["summary"], c["indicator"]) for c in cards]  # noqa: E731
    assert strip(answer.json()["cards"]) == strip(with_prefetch["cards"])
    # a server that refuses: 412
    body["fhirServer"] = ehr.loopback.url("/no-such-fhir")
    assert ehr.call(PATIENT_VIEW, body).status_code == 412


def test_prefetch_about_another_patient_is_refused(ehr: Ehr) -> None:
    """Cards must never be made from another patient's data than the chart open."""
    body = _request("patient-view", "1288992", {
        "patient": {"resourceType": "Patient", "id": "someone-else", "gender": "male",
                    "birthDate": "1925-12-23"},
        "labs": None, "conditions": None, "medications": None})
    answer = ehr.call(PATIENT_VIEW, body)
    assert answer.status_code == 422
    assert "context.patientId" in answer.json()["detail"]


def test_a_ct_in_the_record_gives_the_cac_drs_card(ehr: Ehr) -> None:
    """A CT stored in ectocalc's record for the patient: coronary lesions of 120 (LAD) and
    50 (RCA) Agatston, total 170 in two vessels: CAC-DRS A2 (100-299) / N2 (SCCT 2018)."""
    from ectocalc.model.scan import Lesion, ScanResult
    from ectocalc.record import add_scan

    def lesion(number: int, region: str, agatston: float) -> Lesion:
        return Lesion(id=number, centroid_mm=(0, 0, 0), volume_mm3=1, mass_mg=1, peak_hu=400,
                      agatston=agatston, type="vascular", region=region)

    scan = ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
                      slice_increment_mm=3, pixel_spacing_mm=(0.5, 0.5),
                      calibration_mg_per_cm3_per_hu=0.78, agatston=170, volume_mm3=2,
                      mass_mg=2, lesions=[lesion(1, "coronary_artery_lad", 120),
                                          lesion(2, "coronary_artery_rca", 50)],
                      study_date=date(2025, 5, 2))
    add_scan(ehr.client.app.state.web.store, scan, patient_id="MRN-CAC-1", name="CT")
    patient = {"resourceType": "Patient", "id": "ehr-77", "gender": "male",
               "birthDate": "1961-02-03", "identifier": [{"value": "MRN-CAC-1"}]}
    body = _request("patient-view", "ehr-77", {"patient": patient, "labs": None,
                                                "conditions": None, "medications": None})
    cards = ehr.call(PATIENT_VIEW, body).json()["cards"]
    cac = [c for c in cards if c["summary"].startswith("CAC-DRS")]
    assert len(cac) == 1 and cac[0]["summary"].startswith("CAC-DRS A2/N2")
    assert cac[0]["indicator"] == "warning"
    assert cac[0]["links"][0]["url"] == f"{BASE}/patients/MRN-CAC-1"


@needs_synthea
@pytest.mark.parametrize("path", synthea.BUNDLES, ids=lambda p: p.name.split("_")[0])
def test_every_synthea_record_reads_as_a_cds_call_would(path) -> None:
    """The data a CDS call of each Synthea patient brings (prefetch as the EHR answers the
    templates) make one Bundle the FHIR reader takes whole: every catalogued result read."""
    from ectocalc import cds, service
    from ectocalc.knowledge import load_knowledge

    codes = {c for e in load_knowledge().analytes.analytes.values() for c in e.loinc}
    data = synthea.prefetch(path, codes)
    case = service.read_bundle(cds.bundle_of(data, timestamp=datetime.now(UTC)),
                               source=path.name)
    draws = {(e["resource"]["code"]["coding"][0]["code"], e["resource"]["effectiveDateTime"],
              e["resource"]["valueQuantity"]["value"]) for e in data["labs"]["entry"]
             if "valueQuantity" in e["resource"]}
    assert len(case.labs) == len(draws) > 0  # a repeat of one draw (overlapping panels) once
    assert case.patient.id == data["patient"]["identifier"][0]["value"]
    assert case.patient.sex == data["patient"]["gender"]
