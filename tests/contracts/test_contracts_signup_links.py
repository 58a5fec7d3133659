"""Signup links in the panel: creation, states, sharing (QR, WhatsApp, SMS, e-mail), revocation."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import time_machine
from sqlalchemy import func, select

from contracts import services
from contracts.models import LinkState, SignupLink
from core.audit import AuditEvent
from partner.models import Payer
from partner.services import hash_token
from tests.contracts.helpers import link_in, path_of
from tests.factories import PlanFactory


def count_links(db):
    return db.session.scalar(select(func.count(SignupLink.id)))


def test_create_link_in_the_panel(db, login_as, manager, plan):
    response = login_as(manager).post("/links-de-contratacao", data={
        "software_id": plan.software_id, "plan_id": plan.id, "payer": "partner", "trial_days": "15",
        "client_email": "Dono@Cliente.example", "expires_in_days": "",
    })
    assert response.status_code == 302
    link = db.session.scalar(select(SignupLink).order_by(SignupLink.id.desc()))
    assert response.headers["Location"].endswith(f"/links-de-contratacao/{link.id}")
    assert (link.partner_id, link.plan_id, link.payer, link.trial_days) == (manager.partner_id, plan.id, Payer.PARTNER, 15)
    assert link.client_email == "dono@cliente.example" and link.created_by_id == manager.id
    assert timedelta(days=6, hours=23) < link.expires_at - datetime.now(UTC) <= timedelta(days=7)
    assert link.state == LinkState.PENDING
    token = services.link_token(link)
    assert link.token_hash == hash_token(token) and token not in (link.token_hash, link.nonce)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "signup_link.created")) is not None


def test_share_page_has_copy_qr_whatsapp_sms_and_email(db, login_as, manager, make_link):
    link = make_link(client_email="dono@cliente.example")
    html = login_as(manager).get(f"/links-de-contratacao/{link.id}").get_data(as_text=True)
    url = services.link_url(link)
    assert f'value="{url}"' in html and 'data-copy="#link-url"' in html
    assert 'src="data:image/svg+xml' in html and 'href="data:image/png;base64,' in html
    whatsapp = html.split('href="https://wa.me/?text=', 1)[1].split('"', 1)[0]
    assert url in unquote(whatsapp) and "Ouro" in unquote(whatsapp)
    assert "contrate" in html and 'data-testid="sms-text"' in html
    assert 'value="dono@cliente.example"' in html  # the e-mail form is prefilled
    assert "Revogar este link?" in html  # revoking asks for confirmation


@pytest.mark.parametrize(("field", "value", "message"), [
    ("plan_id", "", "Escolha um plano ativo."),
    ("payer", "ninguem", "Escolha uma opção válida para Responsável pelo pagamento."),
    ("trial_days", "91", "Período de teste (dias): use um número de 0 a 90."),
    ("trial_days", "-1", "Período de teste (dias): use um número de 0 a 90."),
    ("expires_in_days", "0", "Validade do link (dias): use um número de 1 a 30."),
    ("client_email", "não-é-email", "E-mail inválido."),
])
def test_invalid_link_form_is_422_and_saves_nothing(db, login_as, manager, plan, committed, field, value, message):
    committed()
    before = count_links(db)
    data = {"software_id": plan.software_id, "plan_id": plan.id, "payer": "client", field: value}
    response = login_as(manager).post("/links-de-contratacao", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_links(db) == before


def test_send_now_without_an_email_is_422_next_to_the_field(db, login_as, manager, plan, committed):
    """"Enviar … agora" ticked with no e-mail used to create an unsent link without a word."""
    committed()
    before = count_links(db)
    response = login_as(manager).post("/links-de-contratacao", data={
        "software_id": plan.software_id, "plan_id": plan.id, "payer": "client", "send_email": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field-error="client_email">Informe o e-mail do cliente para enviar o link agora.' in html
    assert count_links(db) == before


def test_inactive_plan_cannot_be_offered(db, login_as, manager, committed):
    plan = PlanFactory(is_active=False)
    committed()
    response = login_as(manager).post("/links-de-contratacao", data={"plan_id": plan.id, "payer": "client"})
    assert response.status_code == 422 and "Escolha um plano ativo." in response.get_data(as_text=True)


def test_list_shows_each_state_and_the_client(db, login_as, manager, make_link, client_row):
    pending = make_link()
    used = make_link()
    used.used_at, used.used_by_client_id = datetime.now(UTC), client_row.id
    revoked = make_link()
    services.revoke_signup_link(revoked)
    expired = make_link()
    expired.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.flush()
    html = login_as(manager).get("/links-de-contratacao").get_data(as_text=True)
    for link, state in ((pending, "pending"), (used, "used"), (revoked, "revoked"), (expired, "expired")):
        row = html.split(f'data-link-id="{link.id}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-state="{state}"' in row
    assert client_row.legal_name in html
    only_pending = login_as(manager).get("/links-de-contratacao?state=pending").get_data(as_text=True)
    assert f'data-link-id="{pending.id}"' in only_pending and f'data-link-id="{used.id}"' not in only_pending


def test_link_expires_after_seven_days(db, make_link):
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        link = make_link()
    assert link.state_at(start + timedelta(days=7) - timedelta(seconds=1)) == LinkState.PENDING
    assert link.state_at(start + timedelta(days=7)) == LinkState.EXPIRED


def test_revoke_with_confirmation_and_only_once(db, login_as, manager, make_link, committed):
    link = make_link()
    committed()
    client = login_as(manager)
    assert client.post(f"/links-de-contratacao/{link.id}/revogar").status_code == 302
    db.session.refresh(link)
    assert link.state == LinkState.REVOKED
    again = client.post(f"/links-de-contratacao/{link.id}/revogar")
    assert again.status_code == 409 and "Só é possível revogar um link pendente" in again.get_data(as_text=True)


def test_send_link_by_email_through_the_outbox(db, login_as, manager, make_link, inbox, deliver_mail):
    link = make_link()
    response = login_as(manager).post(f"/links-de-contratacao/{link.id}/enviar", data={"to": "Novo@Cliente.example"})
    assert response.status_code == 302
    assert deliver_mail() == 1
    inbox.wait_for(1)
    [message] = inbox.to("novo@cliente.example")
    assert message["Subject"].startswith("Seu link de contratação")
    body = message.get_body(("plain",)).get_content()
    assert "Ouro" in body and "R$ 119,90" in body
    assert link_in(message, "/contratar/") == path_of(services.link_url(link))
    assert link.last_sent_at is not None


def test_create_and_send_at_once(db, login_as, manager, plan, inbox, deliver_mail):
    response = login_as(manager).post("/links-de-contratacao", data={
        "plan_id": plan.id, "payer": "client", "client_email": "ja@cliente.example", "send_email": "1"})
    assert response.status_code == 302
    deliver_mail()
    inbox.wait_for(1)
    assert len(inbox.to("ja@cliente.example")) == 1


def test_send_needs_a_valid_address(db, login_as, manager, make_link, committed):
    link = make_link()
    committed()
    response = login_as(manager).post(f"/links-de-contratacao/{link.id}/enviar", data={"to": "sem-arroba"})
    assert response.status_code == 422 and "E-mail inválido." in response.get_data(as_text=True)


def test_another_partners_link_is_404(db, login_as, other_manager, make_link, committed):
    link = make_link()
    committed()
    client = login_as(other_manager)
    assert client.get(f"/links-de-contratacao/{link.id}").status_code == 404
    assert client.post(f"/links-de-contratacao/{link.id}/revogar").status_code == 404
    assert client.post(f"/links-de-contratacao/{link.id}/enviar", data={"to": "x@y.example"}).status_code == 404
    assert f'data-link-id="{link.id}"' not in client.get("/links-de-contratacao").get_data(as_text=True)
    db.session.refresh(link)
    assert link.state == LinkState.PENDING


def test_nav_links_to_the_page(db, login_as, manager):
    html = login_as(manager).get("/painel").get_data(as_text=True)
    assert 'href="/links-de-contratacao"' in html
