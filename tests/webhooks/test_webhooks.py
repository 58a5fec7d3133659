"""Outgoing webhooks against a real local HTTP receiver (tests/webhooks/conftest.py): signatures checked
by the receiver's own HMAC code, retries with backoff, one effect per Revenda-Delivery id on redelivery,
disabling after repeated failures with an e-mail, SSRF refusals under the production rules, bad input."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from contracts.services.status import change_status
from core.audit import AuditEvent
from core.db import utcnow
from core.mail import OutboxEmail
from partner.models import ContractStatus
from webhooks import services, transport
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def _create(api, receiver, events=("client.status_changed",)):
    response = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": list(events)})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    receiver.secret = body["secret"]
    return body


def _block(db, client_row):
    change_status(client_row, ContractStatus.BLOCKED, "manual", note="teste")
    db.session.commit()


def test_a_status_change_reaches_the_receiver_signed(db, api, receiver, client_row):
    created = _create(api, receiver)
    assert created["secret"].startswith("whsec_") and created["events"] == ["client.status_changed"]
    assert "secret" not in json.dumps(api.get("/api/v1/webhooks").get_json())  # shown once
    endpoint = db.session.get(WebhookEndpoint, created["id"])
    assert receiver.secret.encode() not in endpoint.secret_blob  # encrypted at rest

    _block(db, client_row)
    assert services.deliver_due() == 1

    [request] = receiver.requests
    assert request["valid"], request["signature"]
    event = json.loads(request["body"])
    assert set(event) == {"id", "type", "created_at", "data"} and event["type"] == "client.status_changed"
    assert event["data"]["client_id"] == client_row.id and event["data"]["after"] == "blocked"
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert request["delivery"] == delivery.public_id and delivery.status == DeliveryStatus.SUCCEEDED
    [attempt] = delivery.attempt_log
    assert attempt.status_code == 200 and attempt.response_snippet == "ok" and attempt.duration_ms >= 0


def test_a_tampered_body_fails_the_receivers_check(receiver):
    receiver.secret = "whsec_abc"
    body = b'{"a":1}'
    header = transport.signature_header("whsec_abc", int(utcnow().timestamp()), body)
    assert receiver.verify(header, body)
    assert not receiver.verify(header, b'{"a":2}')
    assert not receiver.verify(header.replace("v1=", "v1=0"), body)


def test_retried_with_backoff_after_a_failing_receiver(db, api, receiver, client_row):
    _create(api, receiver)
    receiver.statuses = [500]
    _block(db, client_row)

    assert services.deliver_due() == 1
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1 and delivery.last_status_code == 500
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=20)  # backoff, not at once
    assert len(delivery.attempt_log[0].response_snippet) <= transport.SNIPPET_CHARS
    assert services.deliver_due() == 0  # not due yet

    assert services.deliver_due(now=utcnow() + timedelta(minutes=5)) == 1
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert [r["delivery"] for r in receiver.requests] == [delivery.public_id] * 2
    assert all(r["valid"] for r in receiver.requests) and len(receiver.effects) == 1
    assert [a.status_code for a in delivery.attempt_log] == [500, 200]


def test_a_resend_carries_the_same_id_and_has_no_second_effect(db, api, receiver, client_row):
    created = _create(api, receiver)
    _block(db, client_row)
    services.deliver_due()
    delivery = db.session.scalars(select(WebhookDelivery)).one()

    response = api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery.public_id}/resend")
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
    assert services.deliver_due() == 1

    assert [r["delivery"] for r in receiver.requests] == [delivery.public_id] * 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]  # the same event, signed again
    assert len(receiver.effects) == 1  # the receiver dropped the repeat
    listed = api.get(f"/api/v1/webhooks/{created['id']}/deliveries").get_json()["data"]
    assert listed[0]["id"] == delivery.public_id and len(listed[0]["attempt_log"]) == 2
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.resent")) is not None


def test_disabled_after_repeated_failures_with_an_email(app, db, api, receiver, client_row, partner, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_DISABLE_AFTER", 3)
    created = _create(api, receiver)
    receiver.statuses = [500] * 10
    _block(db, client_row)
    later = utcnow()
    for _ in range(4):
        later += timedelta(hours=2)
        services.deliver_due(now=later)

    endpoint = db.session.get(WebhookEndpoint, created["id"])
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert len(receiver.requests) == 3  # nothing after it was disabled
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "webhook_disabled"))
    assert mail is not None and mail.subject == "Webhook desativado após falhas repetidas"
    assert mail.to == partner.email  # created through the API: the partner's address
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.disabled")) is not None

    receiver.statuses = []  # the receiver is fixed
    services.enable_endpoint(endpoint)  # re-enabled: the pending delivery goes again
    db.session.commit()
    assert services.deliver_due(now=later) == 1
    assert db.session.scalars(select(WebhookDelivery)).one().status == DeliveryStatus.SUCCEEDED


@pytest.mark.parametrize("url, message", [
    ("http://exemplo.com.br/hook", "https://"),
    ("https://127.0.0.1/hook", "internos"),
    ("https://10.1.2.3/hook", "internos"),
    ("https://192.168.0.10/hook", "internos"),
    ("https://169.254.169.254/latest/meta-data", "internos"),
    ("https://[::1]/hook", "internos"),
    ("https://224.0.0.1/hook", "internos"),
    ("https://localhost:8443/hook", "internos"),
])
def test_production_refuses_private_addresses(db, api, production_rules, url, message):
    response = api.post("/api/v1/webhooks", json={"url": url, "events": ["invoice.paid"]})
    assert response.status_code == 422
    assert message in response.get_json()["error"]["fields"]["url"]
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_the_address_is_checked_again_at_delivery(app, db, api, receiver, client_row):
    _create(api, receiver)  # allowed when created (the embedded default)
    _block(db, client_row)
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    try:
        services.deliver_due()
    finally:
        app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    attempt = db.session.scalars(select(WebhookAttempt)).one()
    assert attempt.status_code is None and "address refused (private)" in attempt.error
    assert receiver.requests == []


def test_public_addresses():
    assert transport.is_public_address("8.8.8.8")
    for address in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.1.1", "::1", "fe80::1",
                    "224.0.0.1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "fc00::1"):
        assert not transport.is_public_address(address), address


@pytest.mark.parametrize("body, field", [
    ({"url": "não é url", "events": ["invoice.paid"]}, "url"),
    ({"url": "ftp://exemplo.com.br/x", "events": ["invoice.paid"]}, "url"),
    ({"url": "https://exemplo.com.br/" + "a" * 500, "events": ["invoice.paid"]}, "url"),
    ({"url": "https://usuario:senha@exemplo.com.br/x", "events": ["invoice.paid"]}, "url"),
    ({"events": ["invoice.paid"]}, "url"),
    ({"url": "http://127.0.0.1:9/x", "events": ["nota.qualquer"]}, "events"),
    ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
    ({"url": "http://127.0.0.1:9/x", "events": "invoice.paid,x"}, "events"),
    ({"url": "http://127.0.0.1:9/x", "events": ["invoice.paid"], "secret": "meu"}, "secret"),
])
def test_bad_input_is_a_422_with_the_field(db, api, body, field):
    response = api.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"] and error["fields"][field]
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_another_partners_webhook_is_a_404(db, api, other_partner):
    endpoint, _secret = services.create_endpoint(url="http://127.0.0.1:9/x", events=["invoice.paid"],
                                                 partner_id=other_partner.id)
    db.session.commit()
    assert api.get(f"/api/v1/webhooks/{endpoint.id}/deliveries").status_code == 404
    assert api.open("DELETE", f"/api/v1/webhooks/{endpoint.id}").status_code == 404
    assert api.get("/api/v1/webhooks").get_json()["data"] == []
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None


def test_delete_through_the_api(db, api, receiver):
    created = _create(api, receiver)
    assert api.open("DELETE", f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert db.session.get(WebhookEndpoint, created["id"]) is None
    assert api.get(f"/api/v1/webhooks/{created['id']}/deliveries").status_code == 404


def test_events_reach_only_endpoints_that_chose_them(db, api, receiver, client_row, other_partner):
    _create(api, receiver, events=("invoice.paid",))
    services.create_endpoint(url=receiver.url, events=["client.status_changed"], partner_id=other_partner.id)
    _block(db, client_row)
    assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_the_openapi_document_lists_the_webhook_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/webhooks"]) and "delete" in paths["/api/v1/webhooks/{id}"]
    assert "get" in paths["/api/v1/webhooks/{id}/deliveries"]


def test_redirects_are_not_followed(db, api, receiver, client_row):
    _create(api, receiver)
    receiver.statuses = [302]
    _block(db, client_row)
    services.deliver_due()
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 302
    assert len(receiver.requests) == 1  # a 3xx is a failed attempt, never a second request elsewhere


def test_a_secret_that_cannot_be_decrypted_fails_the_delivery(db, api, receiver, client_row):
    created = _create(api, receiver)
    endpoint = db.session.get(WebhookEndpoint, created["id"])
    endpoint.secret_blob = b"\x01" + endpoint.secret_blob[1:-1] + b"\x00"  # tampered / key gone
    _block(db, client_row)
    services.deliver_due()
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == DeliveryStatus.FAILED and receiver.requests == []
