"""Payments through Stripe, over HTTP to localstripe: the payer's customer, the card saved from a
SetupIntent, card charges, refunds and webhooks (signed by localstripe itself, relayed to the app).

localstripe has no boleto support, so the boleto tests answer the app's requests with the recorded
Stripe response in ``recorded/boleto_payment_intent.json`` (hand-written from Stripe's documented
shape, see that file) through a canned HTTP client."""

import http.server
import json
import queue
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import stripe
import time_machine
from billing_helpers import API_KEY, WEBHOOK_SECRET, event_payload, new_card, sign
from localstripe_server import register_webhook
from sqlalchemy import func, select

from billing import gateway as gw
from billing import services
from billing.models import Boleto, Invoice, InvoiceStatus, Payment, PaymentStatus, Refund, WebhookEvent, WebhookStatus
from billing.run import run_monthly_billing
from contracts import services as contracts
from partner.models import ContractStatus, Payer

RECORDED = Path(__file__).parent / "recorded" / "boleto_payment_intent.json"


@pytest.fixture
def invoice(db, partner, make_client):
    """An open partner invoice (June) for one partner-paid client."""
    make_client(Payer.PARTNER)
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    return db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}"))


class RecordingHTTPClient(stripe.RequestsClient):
    name = "recording"

    def __init__(self):
        super().__init__(timeout=10)
        self.sent = []

    def request(self, method, url, headers, post_data=None):
        self.sent.append((method, url, dict(headers or {}), post_data))
        return super().request(method, url, headers, post_data)


@pytest.fixture
def http_log(stripe_app):
    """Install a gateway whose HTTP client records every request the app makes."""
    client = RecordingHTTPClient()
    cfg = stripe_app.config
    gateway = gw.StripeGateway(API_KEY, WEBHOOK_SECRET, cfg["STRIPE_API_BASE"], http_client=client,
                               max_network_retries=0)
    stripe_app.extensions["billing_gateway"] = {(API_KEY, WEBHOOK_SECRET, cfg["STRIPE_API_BASE"]): gateway}
    yield client
    client.close()


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.put((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def relay(localstripe_url, post_webhook):
    """Webhooks as localstripe sends them (its body, its signature), relayed to the app."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = queue.Queue()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    register_webhook(localstripe_url, f"app-{time.time_ns()}", f"http://{host}:{port}/", WEBHOOK_SECRET)

    def deliver(event_type, match, timeout=15):
        """Relay the first ``event_type`` whose object matches (an id, or a predicate)."""
        wanted = match if callable(match) else (lambda obj: obj["id"] == match)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"localstripe did not send {event_type}"
            body, signature = server.received.get(timeout=remaining)
            event = json.loads(body)
            if event["type"] == event_type and wanted(event["data"]["object"]):
                return body, signature, post_webhook(body, signature)

    yield deliver
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_get_gateway_follows_the_config(app, db, config):
    config(STRIPE_SECRET_KEY="")
    assert isinstance(services.get_gateway(), gw.ManualGateway)
    assert not services.online_payments_enabled()
    config(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert isinstance(services.get_gateway(), gw.StripeGateway)
    services.get_gateway().close()
    app.extensions["billing_gateway"] = {}


def test_one_stripe_customer_per_payer(db, stripe_app, partner, raw_stripe):
    profile = services.ensure_customer(Payer.PARTNER, partner)
    assert profile.stripe_customer_id.startswith("cus_")
    again = services.ensure_customer(Payer.PARTNER, partner)
    assert again.stripe_customer_id == profile.stripe_customer_id
    customer = raw_stripe.v1.customers.retrieve(profile.stripe_customer_id)
    assert customer["metadata"]["payer_ref"] == f"partner:{partner.id}"
    assert customer["metadata"]["tax_id"] == partner.cnpj
    assert customer["address"]["postal_code"] == "01310-100"


def test_card_saved_from_a_setup_intent_and_charged(db, stripe_app, login_as, manager, partner, invoice,
                                                    raw_stripe, http_log):
    assert login_as(manager).post("/meus-dados/pagamento/metodo", data={"method": "card"}).status_code == 302
    page = login_as(manager).get("/meus-dados/pagamento?cartao=novo")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "https://js.stripe.com/v3" in html and "_secret_" in html  # Elements with the SetupIntent

    # What Stripe.js does in the browser: the card goes to Stripe, only pm_… comes back.
    pm_id = new_card(raw_stripe)
    response = login_as(manager).post("/meus-dados/pagamento/cartao", data={"payment_method_id": pm_id})
    assert response.status_code == 302
    profile = services.profile_for(Payer.PARTNER, partner, create=False)
    assert (profile.method, profile.card_brand, profile.card_last4) == ("card", "visa", "4242")

    response = login_as(manager).post(f"/faturas/{invoice.id}/cartao")
    assert response.status_code == 302
    assert invoice.status == InvoiceStatus.PAID
    [payment] = invoice.payments
    assert payment.status == PaymentStatus.SUCCEEDED and payment.reference.startswith("pi_")
    intent = raw_stripe.v1.payment_intents.retrieve(payment.reference)
    assert intent["amount"] == invoice.total_cents and intent["metadata"]["invoice_ref"] == invoice.number

    posts = [(url, headers) for method, url, headers, _ in http_log.sent if method == "post"]
    assert len(posts) >= 4
    assert all(headers.get("Idempotency-Key") for _, headers in posts)


def test_declined_card_is_recorded_and_the_invoice_stays_open(db, stripe_app, partner, invoice, raw_stripe,
                                                              login_as, manager):
    services.save_card(partner, new_card(raw_stripe, "4000000000000341"))
    response = login_as(manager).post(f"/faturas/{invoice.id}/cartao")
    assert response.status_code == 302
    assert invoice.status == InvoiceStatus.OPEN
    [payment] = invoice.payments
    assert payment.status == PaymentStatus.FAILED and payment.failure_code == "card_declined"


def test_webhook_from_localstripe_marks_the_invoice_paid_and_unblocks(db, stripe_app, partner, invoice, raw_stripe,
                                                                      relay):
    [client] = [line.client for line in invoice.lines]
    contracts.block_for_non_payment(client)
    assert client.status == ContractStatus.BLOCKED

    profile = services.save_card(partner, new_card(raw_stripe))
    # Paid outside our "Pagar" button (e.g. retried by Stripe): only the webhook tells us.
    paid = services.get_gateway().charge_card(profile.stripe_customer_id, invoice.total_cents, invoice.number,
                                              f"test-{time.time_ns()}")
    body, signature, response = relay("payment_intent.succeeded", paid.payment_intent_id)
    assert response.status_code == 200 and response.get_json()["duplicate"] is False
    assert invoice.status == InvoiceStatus.PAID
    assert client.status == ContractStatus.ACTIVE and client.status_reason is None
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.stripe_event_id == json.loads(body)["id"]))
    assert event.status == WebhookStatus.PROCESSED and event.invoice_id == invoice.id

    # Stripe delivers again: acknowledged, nothing changes.
    repeat = stripe_app.test_client().post("/billing/webhooks/stripe", data=body, content_type="application/json",
                                           headers={"Stripe-Signature": signature})
    assert repeat.status_code == 200 and repeat.get_json()["duplicate"] is True
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.invoice_id == invoice.id)) == 1


def test_failed_payment_webhook_records_and_notifies(db, stripe_app, partner, invoice, raw_stripe, relay, inbox,
                                                     deliver_mail):
    profile = services.save_card(partner, new_card(raw_stripe, "4000000000000341"))
    with pytest.raises(gw.CardDeclined):
        services.get_gateway().charge_card(profile.stripe_customer_id, invoice.total_cents, invoice.number,
                                           f"test-{time.time_ns()}")
    _, _, response = relay("payment_intent.payment_failed",
                           lambda obj: obj["metadata"].get("invoice_ref") == invoice.number)
    assert response.status_code == 200
    [payment] = invoice.payments
    assert payment.status == PaymentStatus.FAILED and invoice.status == InvoiceStatus.OPEN
    deliver_mail()
    inbox.wait_for(1)
    [mail] = [m for m in inbox.to(partner.email) if "Nova fatura" not in m["Subject"]]  # sent when issued
    assert "não aprovado" in mail["Subject"] and invoice.number in mail["Subject"]


def test_refund_webhook_creates_a_refund_record(db, stripe_app, partner, invoice, raw_stripe, post_webhook):
    services.save_card(partner, new_card(raw_stripe))
    payment = services.pay_with_card(invoice)
    assert invoice.status == InvoiceStatus.PAID
    refund = services.get_gateway().refund(payment.reference, 1000, f"test-refund-{time.time_ns()}")
    intent = raw_stripe.v1.payment_intents.retrieve(payment.reference)
    charge = intent["latest_charge"]  # localstripe expands it
    charge = raw_stripe.v1.charges.retrieve(charge if isinstance(charge, str) else charge["id"])
    obj = json.loads(str(charge))
    obj["payment_intent"] = payment.reference
    obj["refunds"] = {"object": "list", "data": [{"id": refund["id"], "amount": 1000, "object": "refund"}]}
    payload = event_payload("charge.refunded", obj)
    assert post_webhook(payload).status_code == 200
    assert post_webhook(event_payload("charge.refunded", obj)).status_code == 200  # another event, same refund
    [row] = db.session.scalars(select(Refund).where(Refund.invoice_id == invoice.id)).all()
    assert row.stripe_refund_id == refund["id"] and row.amount_cents == 1000
    assert invoice.status == InvoiceStatus.PAID and invoice.total_cents > 1000


@pytest.mark.parametrize("case", ["tampered", "wrong secret", "stale", "missing"])
def test_bad_signature_is_400_and_nothing_is_stored(db, stripe_app, invoice, post_webhook, case):
    payload = event_payload("payment_intent.succeeded", {"id": "pi_x", "metadata": {"invoice_ref": invoice.number}})
    signature = {"tampered": sign(payload), "wrong secret": sign(payload, "whsec_other"),
                 "stale": sign(payload, timestamp=int(time.time()) - 3600), "missing": ""}[case]
    if case == "tampered":
        payload = payload.replace(b"pi_x", b"pi_y")
    response = post_webhook(payload, signature)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0
    assert invoice.status == InvoiceStatus.OPEN


def test_webhook_without_stripe_config_is_400(db, app, config, invoice, post_webhook):
    config(STRIPE_SECRET_KEY="")
    payload = event_payload("payment_intent.succeeded", {"id": "pi_x"})
    assert post_webhook(payload).status_code == 400


def test_unknown_event_is_stored_as_ignored_and_unknown_invoice_as_failed(db, stripe_app, post_webhook):
    assert post_webhook(event_payload("customer.created", {"id": "cus_1"}, "evt_ignored")).status_code == 200
    payload = event_payload("payment_intent.succeeded", {"id": "pi_nowhere", "amount": 100}, "evt_failed")
    assert post_webhook(payload).status_code == 200
    rows = {e.stripe_event_id: e for e in db.session.scalars(select(WebhookEvent))}
    assert rows["evt_ignored"].status == WebhookStatus.IGNORED
    assert rows["evt_failed"].status == WebhookStatus.FAILED and "não encontrada" in rows["evt_failed"].error


def test_webhook_is_csrf_exempt(db, stripe_app, app, invoice):
    csrf_client = app.test_client()
    payload = event_payload("customer.created", {"id": "cus_2"})
    response = csrf_client.post("/billing/webhooks/stripe", data=payload, content_type="application/json",
                                headers={"Stripe-Signature": sign(payload)})
    assert response.status_code == 200


# -- boleto, against the recorded Stripe response ------------------------------------------------------


class CannedBoletoClient(stripe.HTTPClient):
    """Answers like Stripe's boleto PaymentIntent (recorded JSON), a new id per request."""

    name = "canned-boleto"

    def __init__(self):
        super().__init__()
        self.recorded = json.loads(RECORDED.read_text())
        self.sent = []

    def request(self, method, url, headers, post_data=None):
        self.sent.append((method, url, dict(headers or {}), post_data))
        body = dict(self.recorded, id=f"{self.recorded['id']}{len(self.sent)}")
        return json.dumps(body), 200, {"Request-Id": "req_canned"}

    def request_stream(self, method, url, headers, post_data=None):
        raise NotImplementedError

    def close(self):
        pass


@pytest.fixture
def boleto_gateway(stripe_app, partner, db):
    canned = CannedBoletoClient()
    cfg = stripe_app.config
    gateway = gw.StripeGateway(API_KEY, WEBHOOK_SECRET, cfg["STRIPE_API_BASE"], http_client=canned,
                               max_network_retries=0)
    stripe_app.extensions["billing_gateway"] = {(API_KEY, WEBHOOK_SECRET, cfg["STRIPE_API_BASE"]): gateway}
    services.profile_for(Payer.PARTNER, partner).stripe_customer_id = "cus_RWkT7s9bqPjX2c"
    return canned


def test_gerar_boleto_shows_number_pdf_and_expiry(db, boleto_gateway, invoice, login_as, manager):
    response = login_as(manager).post(f"/faturas/{invoice.id}/boleto")
    assert response.status_code == 302
    [boleto] = invoice.boletos
    recorded = boleto_gateway.recorded["next_action"]["boleto_display_details"]
    assert boleto.number == recorded["number"] and boleto.pdf_url == recorded["pdf"]
    assert boleto.expires_at == datetime.fromtimestamp(recorded["expires_at"], UTC)
    [(method, url, headers, form)] = boleto_gateway.sent
    assert url.endswith("/v1/payment_intents") and headers["Idempotency-Key"] == f"revenda-invoice-{invoice.id}-boleto-1"
    assert "payment_method_data[boleto][tax_id]=" in form

    with time_machine.travel(datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        page = login_as(manager).get(f"/faturas/{invoice.id}").get_data(as_text=True)
    assert recorded["number"] in page and recorded["pdf"] in page and "Gerar boleto" not in page


def test_minhas_faturas_offers_gerar_boleto_when_stripe_is_on(db, boleto_gateway, invoice, login_as, manager):
    with time_machine.travel(datetime(2025, 7, 5, 12, tzinfo=UTC), tick=False):
        html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert f'action="/faturas/{invoice.id}/boleto"' in html and "Gerar boleto" in html


def test_a_new_boleto_only_after_the_last_one_expired(db, boleto_gateway, invoice):
    expires = datetime.fromtimestamp(boleto_gateway.recorded["next_action"]["boleto_display_details"]["expires_at"], UTC)
    with time_machine.travel(expires - timedelta(days=1), tick=False):
        first = services.generate_boleto(invoice)
        assert services.generate_boleto(invoice) is first
    with time_machine.travel(expires + timedelta(hours=1), tick=False):
        second = services.generate_boleto(invoice)
    assert second.id != first.id
    keys = [headers["Idempotency-Key"] for _, _, headers, _ in boleto_gateway.sent]
    assert keys == [f"revenda-invoice-{invoice.id}-boleto-1", f"revenda-invoice-{invoice.id}-boleto-2"]


def test_boleto_paid_webhook_marks_the_invoice_paid(db, boleto_gateway, invoice, post_webhook):
    boleto = services.generate_boleto(invoice)
    intent = dict(boleto_gateway.recorded, id=boleto.payment_intent_id, status="succeeded",
                  amount=invoice.total_cents, metadata={})
    assert post_webhook(event_payload("payment_intent.succeeded", intent)).status_code == 200
    assert invoice.status == InvoiceStatus.PAID
    [payment] = invoice.payments
    assert payment.method == "boleto" and payment.reference == boleto.payment_intent_id


def test_a_second_payment_of_a_paid_invoice_is_kept_and_flagged(db, stripe_app, invoice, post_webhook):
    from core.audit import AuditEvent

    first = {"id": "pi_first", "amount": invoice.total_cents, "currency": "brl", "payment_method_types": ["boleto"],
             "metadata": {"invoice_ref": invoice.number}}
    assert post_webhook(event_payload("payment_intent.succeeded", first)).status_code == 200
    assert invoice.status == InvoiceStatus.PAID
    paid_at = invoice.paid_at
    again = dict(first, id="pi_second", payment_method_types=["card"])
    assert post_webhook(event_payload("payment_intent.succeeded", again)).status_code == 200
    assert invoice.paid_at == paid_at and invoice.status == InvoiceStatus.PAID
    assert sorted(p.reference for p in invoice.payments) == ["pi_first", "pi_second"]
    flagged = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.unexpected"))
    assert flagged.after["reference"] == "pi_second"


def test_boleto_without_stripe_is_refused_with_a_clear_message(db, app, config, invoice, login_as, manager):
    config(STRIPE_SECRET_KEY="")
    response = login_as(manager).post(f"/faturas/{invoice.id}/boleto")
    assert response.status_code == 503
    assert "Pagamentos online não configurados" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Boleto.id))) == 0


def test_boleto_of_a_paid_invoice_is_refused(db, boleto_gateway, invoice):
    services.mark_paid(invoice, notify=False)
    with pytest.raises(services.NotPayable):
        services.generate_boleto(invoice)
