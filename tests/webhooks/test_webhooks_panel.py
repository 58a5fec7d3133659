"""The panel screens: "Integrações / Webhooks" for a manager and its twin under /contador for an
accountant — create (secret shown once), bad input next to the field, delete with confirmation,
deliveries log with resend, re-enable."""

from sqlalchemy import select

from core.audit import AuditEvent
from partner.models import LinkStatus
from tests.factories import ClientFactory, link_accountant
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def test_create_shows_the_secret_once(db, client, login_as, manager, receiver):
    http = login_as(manager)
    page = http.get("/integracoes/webhooks")
    assert page.status_code == 200 and "Integrações / Webhooks" in page.get_data(as_text=True)
    response = http.post("/integracoes/webhooks", data={"url": receiver.url,
                                                        "events": ["invoice.paid", "document.received"]})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = html.split('id="new-secret" value="')[1].split('"')[0]
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert services.endpoint_secret(endpoint) == secret and endpoint.created_by_id == manager.id
    assert endpoint.events == ["document.received", "invoice.paid"] and endpoint.partner_id == manager.partner_id
    assert secret not in http.get("/integracoes/webhooks").get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.created")) is not None


def test_bad_input_is_shown_next_to_the_fields(db, client, login_as, manager):
    response = login_as(manager).post("/integracoes/webhooks", data={"url": "isto não é url", "events": ["x.y"]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field-error="url"' in html and 'data-field-error="events"' in html
    assert "URL inválida" in html and "Evento desconhecido" in html
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_delete_asks_for_confirmation(db, client, login_as, manager):
    endpoint, _s = services.create_endpoint(url="http://127.0.0.1:9/x", events=["invoice.paid"],
                                            partner_id=manager.partner_id)
    http = login_as(manager)
    html = http.get("/integracoes/webhooks").get_data(as_text=True)
    assert f'/integracoes/webhooks/{endpoint.id}/excluir" data-confirm="Excluir este webhook?' in html
    assert http.post(f"/integracoes/webhooks/{endpoint.id}/excluir").status_code == 302
    assert db.session.get(WebhookEndpoint, endpoint.id) is None


def test_deliveries_log_resend_and_reenable(app, db, client, login_as, manager, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_DISABLE_AFTER", 1)
    endpoint, receiver.secret = services.create_endpoint(url=receiver.url, events=["invoice.paid"],
                                                         partner_id=manager.partner_id)
    [delivery] = services.emit_to([endpoint], "invoice.paid", {"invoice_id": 1})
    receiver.statuses = [503]
    db.session.commit()
    services.deliver_due()
    http = login_as(manager)
    html = http.get(f"/integracoes/webhooks/{endpoint.id}").get_data(as_text=True)
    assert delivery.public_id in html and "503" in html and "erro do receptor" in html and "Desativado" in html

    assert http.post(f"/integracoes/webhooks/{endpoint.id}/entregas/{delivery.id}/reenviar").status_code == 303
    assert http.post(f"/integracoes/webhooks/{endpoint.id}/reativar").status_code == 302
    assert http.post(f"/integracoes/webhooks/{endpoint.id}/entregas/{delivery.id}/reenviar").status_code == 302
    services.deliver_due()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [r["delivery"] for r in receiver.requests] == [delivery.public_id] * 2


def test_the_accountant_chooses_one_company_or_all(db, client, login_as, accountant, partner, plan, receiver):
    mine = ClientFactory(partner=partner, plan=plan, legal_name="Empresa Aceita Ltda")
    link_accountant(mine, accountant)
    pending = ClientFactory(partner=partner, plan=plan, legal_name="Empresa Pendente Ltda")
    link_accountant(pending, accountant, status=LinkStatus.PENDING)
    http = login_as(accountant)
    page = http.get("/contador/webhooks").get_data(as_text=True)
    assert "Empresa Aceita Ltda" in page and "Empresa Pendente Ltda" not in page
    assert "Fatura paga" not in page  # billing is not the accountant's

    refused = http.post("/contador/webhooks", data={"url": receiver.url, "events": ["document.received"],
                                                    "client_id": str(pending.id)})
    assert refused.status_code == 422 and 'data-field-error="client_id"' in refused.get_data(as_text=True)
    billing = http.post("/contador/webhooks", data={"url": receiver.url, "events": ["invoice.paid"]})
    assert billing.status_code == 422
    created = http.post("/contador/webhooks", data={"url": receiver.url, "events": ["document.received"],
                                                    "client_id": str(mine.id)})
    assert created.status_code == 201
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.user_id == accountant.id and endpoint.client_id == mine.id and endpoint.partner_id is None
    assert db.session.scalar(select(WebhookDelivery)) is None
