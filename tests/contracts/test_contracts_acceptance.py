"""Acceptance evidence: the e-mail sent on direct registration, the signed link, resending,
the client area button; version, hash, time, IP and user agent are recorded."""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from accounts.services import client_users
from contracts import services
from contracts.models import Acceptance, AcceptanceChannel, ContractEvent, EventKind, TermsVersion
from core.audit import AuditEvent
from partner.models import Client
from tests.contracts.helpers import link_in

NEW_CLIENT = {
    "payer": "client", "legal_name": "Padaria Aceite Ltda", "cnpj": "11.222.333/0001-81",
    "email": "dono@padaria-aceite.example", "cep": "01310-100", "street": "Av. Paulista", "number": "900",
    "district": "Bela Vista", "city": "São Paulo", "state": "SP",
}


def register(login_as, manager, plan):
    response = login_as(manager).post("/clientes/novo", data={
        **NEW_CLIENT, "software_id": plan.software_id, "plan_id": plan.id})
    assert response.status_code == 302
    from core.db import db

    return db.session.scalar(select(Client).where(Client.email == NEW_CLIENT["email"]))


def acceptance_mail(inbox, deliver_mail, address, count=1):
    deliver_mail()
    inbox.wait_for(count)
    mails = [m for m in inbox.to(address) if m["Subject"].startswith("Aceite do contrato")]
    assert mails, [m["Subject"] for m in inbox.to(address)]
    return mails[-1]


def test_direct_registration_sends_one_email_in_the_partners_name(db, login_as, manager, partner, plan, inbox,
                                                                   deliver_mail):
    """One message, from "<Partner> via Revenda", answers to the partner: acceptance and first access."""
    client = register(login_as, manager, plan)
    message = acceptance_mail(inbox, deliver_mail, client.email)
    assert len(inbox.to(client.email)) == 1  # not a welcome e-mail and an acceptance e-mail at once
    assert message["From"].addresses[0].display_name == f"{partner} via Revenda"
    assert message["From"].addresses[0].addr_spec == "nao-responda@revenda.local"
    assert message["Reply-To"] == partner.email
    assert message["Subject"] == f"Aceite do contrato e primeiro acesso — {partner}"
    body = message.get_body(("plain",)).get_content()
    assert "Padaria Aceite Ltda" in body and "versão v1" in body and str(partner) in body
    assert link_in(message, "/aceite/").startswith("/aceite/")
    assert link_in(message, "/primeiro-acesso/").startswith("/primeiro-acesso/")
    tab = login_as(manager).get(f"/clientes/{client.id}?tab=contrato").get_data(as_text=True)
    assert 'data-testid="acceptance-pending"' in tab and "Aguardando aceite" in tab

    # The status reads "Aguardando aceite" — never "Efetivado" beside it — until the client accepts.
    def status_cell(page):
        row = page.split(f'data-client-id="{client.id}"', 1)[1].split("</tr>", 1)[0]
        return re.search(r'<span class="badge[^"]*" data-status="active">([^<]+)</span>', row).group(1)

    assert status_cell(login_as(manager).get("/painel").get_data(as_text=True)) == "Aguardando aceite"
    header = login_as(manager).get(f"/clientes/{client.id}").get_data(as_text=True).split("</h1>", 1)[0]
    assert "Aguardando aceite" in header and "Efetivado" not in header
    services.accept_terms(client, channel=AcceptanceChannel.CLIENT_AREA, ip=None, user_agent=None)
    assert status_cell(login_as(manager).get("/painel").get_data(as_text=True)) == "Efetivado"


def test_resending_once_the_password_is_set_sends_only_the_acceptance(db, login_as, manager, plan, inbox,
                                                                        deliver_mail):

    client = register(login_as, manager, plan)
    client_users(client.id, active_only=False)[0].set_password("senha-do-cliente-1")
    db.session.commit()
    deliver_mail()
    inbox.clear()
    assert login_as(manager).post(f"/clientes/{client.id}/contrato/reenviar-aceite").status_code == 302
    message = acceptance_mail(inbox, deliver_mail, client.email)
    assert message["Subject"].startswith("Aceite do contrato — ")
    assert "/primeiro-acesso/" not in message.get_body(("plain",)).get_content()
    requested = db.session.scalar(select(ContractEvent).where(ContractEvent.client_id == client.id,
                                                              ContractEvent.kind == EventKind.ACCEPTANCE_REQUESTED))
    assert requested.actor_id == manager.id and requested.to_value == client.email


def test_accepting_through_the_emailed_link_records_the_evidence(db, client, login_as, manager, plan, inbox,
                                                                 deliver_mail, as_user):
    registered = register(login_as, manager, plan)
    path = link_in(acceptance_mail(inbox, deliver_mail, registered.email), "/aceite/")
    as_user(None)
    page = client.get(path)
    assert page.status_code == 200 and "TERMOS DE CONTRATAÇÃO DO SOFTWARE" in page.get_data(as_text=True)

    moment = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)  # after the link was made
    with time_machine.travel(moment, tick=False):
        response = client.post(path, data={"accept_terms": "1"}, headers={"User-Agent": "Firefox/140.0"},
                               environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 302
    acceptance = db.session.scalar(select(Acceptance).where(Acceptance.client_id == registered.id))
    terms = services.current_terms()
    assert acceptance.terms_version_id == terms.id and acceptance.terms_version.version == "v1"
    assert acceptance.text_sha256 == terms.sha256 == TermsVersion.hash_text(terms.text)
    assert (acceptance.accepted_at, acceptance.ip, acceptance.user_agent) == (moment, "203.0.113.9", "Firefox/140.0")
    assert acceptance.channel == AcceptanceChannel.EMAIL_LINK and acceptance.user_id is None
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.accepted"))
    assert audit.client_id == registered.id and audit.after["text_sha256"] == terms.sha256

    again = client.get(path)
    assert 'data-testid="accepted"' in again.get_data(as_text=True)
    tab = as_user(manager).get(f"/clientes/{registered.id}?tab=contrato").get_data(as_text=True)
    assert 'data-testid="acceptance"' in tab and "203.0.113.9" in tab and terms.sha256 in tab


def test_accepting_needs_the_checkbox(db, client, client_row, committed):
    committed()
    path = f"/aceite/{services.acceptance_token(client_row)}"
    response = client.post(path, data={})
    assert response.status_code == 422 and "marque “Li e aceito os termos”" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Acceptance.id))) == 0


def test_logged_in_client_user_is_named_in_the_evidence(db, client_row, client_user, as_user):
    client = as_user(client_user)
    assert client.post(f"/aceite/{services.acceptance_token(client_row)}", data={"accept_terms": "1"}).status_code == 302
    assert services.acceptance_for(client_row).user_id == client_user.id


def test_tampered_and_expired_acceptance_links(db, client, client_row, committed):
    committed()
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        token = services.acceptance_token(client_row)
    tampered = client.get(f"/aceite/{token[:-2]}xx")
    assert tampered.status_code == 404 and "Link de aceite inválido" in tampered.get_data(as_text=True)
    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert client.get(f"/aceite/{token}").status_code == 200
    with time_machine.travel(start + timedelta(days=31), tick=False):
        expired = client.get(f"/aceite/{token}")
    assert expired.status_code == 410 and "Este link de aceite expirou" in expired.get_data(as_text=True)


def test_link_sent_to_an_old_email_stops_working(db, client, client_row):
    token = services.acceptance_token(client_row)
    client_row.email = "novo-email@empresa.example"
    db.session.flush()
    assert client.get(f"/aceite/{token}").status_code == 404


def test_resend_button(db, login_as, manager, client_row, inbox, deliver_mail, committed):
    html = login_as(manager).get(f"/clientes/{client_row.id}?tab=contrato").get_data(as_text=True)
    assert "Reenviar o e-mail de aceite para" in html  # asks for confirmation
    response = login_as(manager).post(f"/clientes/{client_row.id}/contrato/reenviar-aceite")
    assert response.status_code == 302
    message = acceptance_mail(inbox, deliver_mail, client_row.email, count=1)
    assert link_in(message, "/aceite/")
    services.accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None)
    committed()
    again = login_as(manager).post(f"/clientes/{client_row.id}/contrato/reenviar-aceite")
    assert again.status_code == 409 and "O cliente já aceitou o contrato." in again.get_data(as_text=True)


def test_accepting_twice_keeps_the_first_evidence(db, client_row):
    first = services.accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip="1.1.1.1", user_agent="a")
    second = services.accept_terms(client_row, channel=AcceptanceChannel.CLIENT_AREA, ip="2.2.2.2", user_agent="b")
    assert first.id == second.id and second.ip == "1.1.1.1"


def test_client_area_shows_the_contract_and_accepts(db, client_row, client_user, as_user):
    client = as_user(client_user)
    area = client.get("/cliente").get_data(as_text=True)
    assert 'data-testid="client-contract"' in area and "Aguardando aceite" in area
    assert 'href="/cliente/aceite"' in area
    assert client.get("/cliente/aceite").status_code == 200
    response = client.post("/cliente/aceite", data={"accept_terms": "1"}, headers={"User-Agent": "Safari"})
    assert response.status_code == 302 and response.headers["Location"] == "/cliente"
    acceptance = services.acceptance_for(client_row)
    assert (acceptance.channel, acceptance.user_id, acceptance.user_agent) == (
        AcceptanceChannel.CLIENT_AREA, client_user.id, "Safari")
    area = client.get("/cliente").get_data(as_text=True)
    assert 'data-testid="client-accepted"' in area and "Aguardando aceite" not in area
