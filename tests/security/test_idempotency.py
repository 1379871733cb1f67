"""Idempotency keys are each account's own: another account resending a key reports its own case and
never gets the first account's back; the same holds for photo uploads."""

from tests.auth_helpers import bearer
from tests.security.conftest import client_from

REPORT = {"category": "neighbour", "severity": 1, "lon": 103.005, "lat": 36.005, "title": "占道"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_another_account_resending_a_key_gets_a_case_of_its_own(sec, sec_app):
    with client_from(sec_app) as client:
        first = bearer(sec.url, "dispatcher", "620121", name="key_owner")
        other = bearer(sec.url, "commander", "620121", name="key_thief")
        key = {"Idempotency-Key": "shared-key-1"}
        mine = client.post("/api/events", json=REPORT, headers=first | key)
        again = client.post("/api/events", json=REPORT, headers=first | key)
        theirs = client.post("/api/events", json=REPORT, headers=other | key)
    assert (mine.status_code, again.status_code, theirs.status_code) == (201, 200, 201)
    assert again.json()["id"] == mine.json()["id"] != theirs.json()["id"]


def test_photo_keys_are_the_uploaders_own(sec, sec_app):
    eid = sec.ids["event"]
    files = {"photo": ("p.png", PNG, "image/png")}
    with client_from(sec_app) as client:
        a = bearer(sec.url, "dispatcher", "620121", name="photo_a")
        b = bearer(sec.url, "commander", "620121", name="photo_b")
        key = {"Idempotency-Key": "photo-key-1"}
        first = client.post(f"/api/events/{eid}/photos", files=files, headers=a | key)
        resend = client.post(f"/api/events/{eid}/photos", files=files, headers=a | key)
        other = client.post(f"/api/events/{eid}/photos", files=files, headers=b | key)
    assert (first.status_code, resend.status_code, other.status_code) == (201, 200, 201)
    assert resend.json()["id"] == first.json()["id"] != other.json()["id"]
    assert other.json()["uploaded_by"] == "photo_b"
