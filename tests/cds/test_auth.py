"""JWT authentication of the EHR exactly as CDS Hooks 2.0 asks ("Trusting CDS Clients"): real
ES384 tokens, the JWK Set fetched over HTTP from 127.0.0.1; every failure is a 401."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cds_helpers import BASE, ISS, KID, Ehr
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from ectocalc.knowledge import load_knowledge
from ectocalc.record import audit_entries

DISCOVERY = "/cds-services"


def _discover(ehr: Ehr, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return ehr.client.get(DISCOVERY, headers=headers)


def test_discovery_lists_the_three_services_with_prefetch_from_the_catalogue(ehr: Ehr) -> None:
    answer = _discover(ehr, ehr.token(DISCOVERY))
    assert answer.status_code == 200, answer.text
    services = {s["id"]: s for s in answer.json()["services"]}
    assert {(i, s["hook"]) for i, s in services.items()} == {
        ("ectocalc-patient-view", "patient-view"), ("ectocalc-order-select", "order-select"),
        ("ectocalc-order-sign", "order-sign")}
    prefetch = services["ectocalc-patient-view"]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert prefetch["conditions"] == "Condition?patient={{context.patientId}}"
    assert prefetch["medications"] == "MedicationRequest?patient={{context.patientId}}"
    labs = prefetch["labs"]
    assert labs.startswith("Observation?patient={{context.patientId}}&code=")
    asked = set(labs.split("&code=")[1].split(","))
    catalogue = {f"http://loinc.org|{code}" for entry in
                 load_knowledge().analytes.analytes.values() for code in entry.loinc}
    assert asked == catalogue and "http://loinc.org|2777-1" in asked  # phosphate
    for service in services.values():
        assert service["title"] and service["description"]


def test_an_array_audience_as_rfc7519_allows(ehr: Ehr) -> None:
    assert _discover(ehr, ehr.token(DISCOVERY, aud=[BASE + DISCOVERY])).status_code == 200


def test_rs384_keys_are_accepted_too(ehr: Ehr) -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS384"})
    ehr.loopback.routes["/jwks.json"] = {
        "keys": [ehr.key.as_dict(private=False), rsa.as_dict(private=False)]}
    ehr.client.app.state.cds.auth.jwks._sets.clear()  # a new key: the EHR rotated its set
    token = ehr.token(DISCOVERY, header={"alg": "RS384", "kid": "rsa-1"}, key=rsa)
    assert _discover(ehr, token).status_code == 200


@pytest.mark.parametrize("case", [
    "no token", "not a bearer", "garbage", "wrong aud", "expired", "no exp", "no jti",
    "iat in the future", "untrusted iss", "no kid", "unknown kid", "other key same kid",
    "HS256", "ES256", "none", "jku not trusted", "wrong typ"])
def test_a_missing_or_bad_token_is_401(ehr: Ehr, case: str) -> None:
    now = int(time.time())
    stranger = ECKey.generate_key("P-384", parameters={"kid": KID})
    tokens = {
        "no token": None,
        "garbage": "abc.def.ghi",
        "wrong aud": ehr.token(DISCOVERY, aud=BASE + "/cds-services/ectocalc-patient-view"),
        "expired": ehr.token(DISCOVERY, exp=now - 120, iat=now - 420),
        "no exp": ehr.token(DISCOVERY, exp=None),
        "no jti": ehr.token(DISCOVERY, jti=None),
        "iat in the future": ehr.token(DISCOVERY, iat=now + 600, exp=now + 900),
        "untrusted iss": ehr.token(DISCOVERY, iss="https://other-ehr.example.org"),
        "no kid": ehr.token(DISCOVERY, header={"kid": None}),
        "unknown kid": ehr.token(DISCOVERY, header={"kid": "no-such-key"}),
        "other key same kid": ehr.token(DISCOVERY, key=stranger),
        "HS256": jwt.encode({"alg": "HS256", "typ": "JWT", "kid": KID},
                            {"iss": ISS, "aud": BASE + DISCOVERY, "exp": now + 300, "iat": now,
                             "jti": "x1"}, OctKey.import_key("a-shared-secret-32-bytes-long!!!"),
                            algorithms=["HS256"]),
        "ES256": jwt.encode({"alg": "ES256", "typ": "JWT", "kid": "p256"},
                            {"iss": ISS, "aud": BASE + DISCOVERY, "exp": now + 300, "iat": now,
                             "jti": "x2"}, ECKey.generate_key("P-256"), algorithms=["ES256"]),
        "none": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + jwt.encode(
            {"alg": "ES384", "typ": "JWT", "kid": KID}, {"iss": ISS}, ehr.key,
            algorithms=["ES384"]).split(".")[1] + ".",
        "jku not trusted": ehr.token(DISCOVERY,
                                     header={"jku": ehr.loopback.url("/attacker-jwks.json")}),
        "wrong typ": ehr.token(DISCOVERY, header={"typ": "at+jwt"}),
    }
    if case == "not a bearer":
        answer = ehr.client.get(DISCOVERY, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    else:
        token = tokens[case]
        if case == "no kid":
            head = token.split(".", 1)[0]
            assert "kid" not in json.loads(_b64(head))
        answer = _discover(ehr, token)
    assert answer.status_code == 401, (case, answer.text)
    assert answer.json() == {"detail": "not authenticated"}
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_a_replayed_jti_is_refused(ehr: Ehr) -> None:
    token = ehr.token(DISCOVERY)
    assert _discover(ehr, token).status_code == 200
    assert _discover(ehr, token).status_code == 401


def test_jku_is_followed_only_when_the_issuer_was_trusted_with_it(ehr: Ehr) -> None:
    rotated = ECKey.generate_key("P-384", parameters={"kid": "rotated", "alg": "ES384"})
    ehr.loopback.routes["/jwks-rotated.json"] = {"keys": [rotated.as_dict(private=False)]}
    ehr.loopback.routes["/attacker-jwks.json"] = {"keys": [rotated.as_dict(private=False)]}
    good = ehr.token(DISCOVERY, key=rotated, header={
        "kid": "rotated", "jku": ehr.loopback.url("/jwks-rotated.json")})
    assert _discover(ehr, good).status_code == 200
    bad = ehr.token(DISCOVERY, key=rotated, header={
        "kid": "rotated", "jku": ehr.loopback.url("/attacker-jwks.json")})
    assert _discover(ehr, bad).status_code == 401
    assert not any(path == "/attacker-jwks.json" for path, _ in ehr.loopback.requests)


def test_service_and_feedback_calls_need_a_token_for_their_own_url(ehr: Ehr) -> None:
    path = "/cds-services/ectocalc-patient-view"
    body = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/example", "patientId": "1288992"}}
    assert ehr.client.post(path, json=body).status_code == 401
    wrong = ehr.token(DISCOVERY)  # a discovery token is not one for the service
    answer = ehr.client.post(path, json=body, headers={"Authorization": f"Bearer {wrong}"})
    assert answer.status_code == 401
    assert ehr.client.post(path + "/feedback", json={"feedback": []}).status_code == 401
    assert ehr.client.post("/cds-services/no-such-service", json=body).status_code == 401
    unknown = "/cds-services/no-such-service"
    answer = ehr.client.post(unknown, json=body,
                             headers={"Authorization": f"Bearer {ehr.token(unknown)}"})
    assert answer.status_code == 404


def test_feedback_is_recorded_in_the_audit_log(ehr: Ehr) -> None:
    """The specification's feedback examples: a suggestion accepted, a card overridden."""
    path = "/cds-services/ectocalc-order-sign/feedback"
    body = {"feedback": [
        {"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted",
         "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
         "outcomeTimestamp": "2020-12-11T00:00:00Z"},
        {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
         "overrideReason": {"reason": {"code": "benefit-outweighs-risk",
                                       "system": "urn:ectocalc:cds:override-reason",
                                       "display": "Benefit outweighs the risk"},
                            "userComment": "discussed with nephrology"},
         "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}
    answer = ehr.client.post(path, json=body,
                             headers={"Authorization": f"Bearer {ehr.token(path)}"})
    assert answer.status_code == 200, answer.text
    entries = [e for e in audit_entries(ehr.client.app.state.web.store)
               if e.action == "cds_feedback"]
    assert [e.username for e in entries] == [ISS, ISS]
    details = sorted(e.detail for e in entries)
    assert "card=4e0a3a1e-3283-4575-ab82-028d55fe2719 outcome=accepted" in details[0]
    assert "accepted=e56e1945-20b3-4393-8503-a1a20fd73152" in details[0]
    assert "outcome=overridden reason=benefit-outweighs-risk" in details[1]
    assert "nephrology" not in " ".join(details)  # free text may name the patient: not kept


def test_cds_trust_command_writes_the_trust_file(run_cli, tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    result = run_cli("cds", "trust", ISS, "https://ehr.example.org/jwks.json",
                     "--jku", "https://ehr.example.org/jwks-2.json", "--trust-file", trust)
    assert result.code == 0, result.stderr
    assert json.loads(trust.read_text()) == {"issuers": {ISS: {
        "jwks_url": "https://ehr.example.org/jwks.json",
        "jku": ["https://ehr.example.org/jwks-2.json"]}}}
    listed = run_cli("cds", "issuers", "--trust-file", trust)
    assert listed.stdout.startswith(f"{ISS}\thttps://ehr.example.org/jwks.json")
    bad = run_cli("cds", "trust", ISS, "ftp://ehr.example.org/jwks", "--trust-file", trust)
    assert bad.code == 2 and "JWKS_URL" in bad.stderr and "Traceback" not in bad.stderr
