"""Invitations ("Registre agora"): new e-mail registers, existing e-mail links accounts ("Vincular contas"),
single use, expiry, resend, revoke; removing memberships; the partner API's invitations and /me."""

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from accounts.models import Invitation, Membership, User
from core.audit import AuditEvent
from core.db import utcnow
from core.permissions import Role
from partner.services import create_api_token
from tests.accounts.conftest import link_in
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "uma-senha-nova-e-longa"


def _invite_client_user(client, data):
    return client.post("/usuarios/convidar", data=data)


def _mail_link(inbox, deliver_mail, address, path="/convite/"):
    deliver_mail()
    messages = inbox.wait_for(1) and inbox.to(address)
    assert messages, f"no e-mail to {address}"
    return link_in(messages[-1], path)


def test_manager_invites_a_new_manager_who_registers(client, db, login_as, manager, partner, inbox, deliver_mail):
    response = login_as(manager).post("/usuarios/convidar", data={"name": "Ana Souza", "email": "Ana@Alfa.example"})
    assert response.status_code == 302 and response.headers["Location"] == "/meus-dados?tab=usuarios"
    page = client.get("/meus-dados?tab=usuarios").get_data(as_text=True)
    assert "ana@alfa.example" in page and "Aguardando" in page
    invitation = db.session.scalar(select(Invitation))
    link = _mail_link(inbox, deliver_mail, "ana@alfa.example")
    assert invitation.token_hash not in link and len(invitation.token_hash) == 64  # only the hash is stored
    body = inbox.to("ana@alfa.example")[-1].get_body(("plain",)).get_content()
    assert "REGISTRE AGORA" in body

    client.post("/logout")
    page = client.get(link).get_data(as_text=True)
    assert "Registre agora" in page and "Vincular contas" not in page
    response = client.post(link, data={"name": "Ana Souza", "password": "curta", "confirm_password": "curta"})
    assert response.status_code == 422 and db.session.scalar(select(func.count()).select_from(User)) == 1
    response = client.post(link, data={"name": "Ana Souza", "password": NEW_PASSWORD,
                                       "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/painel"
    assert client.get("/meus-dados").status_code == 200  # logged in, in the partner's context
    ana = db.session.scalar(select(User).where(User.email == "ana@alfa.example"))
    assert [(m.role, m.partner_id) for m in ana.memberships] == [(Role.MANAGER, partner.id)]
    assert invitation.accepted_at is not None and invitation.accepted_by_id == ana.id
    client.post("/logout")
    assert client.get(link).status_code == 400  # single use


def test_existing_login_links_accounts_with_its_password(client, db, login_as, client_row, client_user,
                                                         other_client, inbox, deliver_mail):
    # a user of B's client invites the person who is already a user of A's client
    inviter = UserFactory(role=Role.CLIENT, client_id=other_client.id)
    response = login_as(inviter).post("/usuarios/convidar", data={
        "name": "Dono", "email": client_user.email, "cpf": "529.982.247-25", "phone": "(11) 98765-4321"})
    assert response.status_code == 302 and response.headers["Location"] == "/cliente/usuarios"
    link = _mail_link(inbox, deliver_mail, client_user.email)
    client.post("/logout")

    page = client.get(link).get_data(as_text=True)
    assert "Você já tem acesso com este e-mail" in page and "Vincular contas" in page
    response = client.post(link, data={"password": "senha-errada"})
    assert response.status_code == 401 and "Senha incorreta" in response.get_data(as_text=True)
    assert len(client_user.memberships) == 1
    response = client.post(link, data={"password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/cliente"
    assert other_client.legal_name in client.get("/cliente").get_data(as_text=True)  # in the new firm
    assert sorted(m.client_id for m in client_user.memberships) == sorted([client_row.id, other_client.id])
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == client_user.email)) == 1
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.accepted"))


def test_forgot_password_from_the_invitation_comes_back_to_it(client, db, login_as, manager, other_manager, partner,
                                                              other_partner, inbox, deliver_mail):
    login_as(manager).post("/usuarios/convidar", data={"name": "Outro", "email": other_manager.email})
    link = _mail_link(inbox, deliver_mail, other_manager.email)
    client.post("/logout")
    inbox.clear()
    response = client.post(link + "/esqueci-senha")
    assert response.status_code == 302 and response.headers["Location"] == link
    reset = _mail_link(inbox, deliver_mail, other_manager.email, "/redefinir-senha/")
    assert "next=" in reset
    response = client.post(reset, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == link
    response = client.post(link, data={"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert {m.partner_id for m in other_manager.memberships} == {partner.id, other_partner.id}


def test_resend_kills_the_old_link_revoke_kills_all_and_links_expire(client, db, login_as, manager, inbox,
                                                                     deliver_mail):
    login_as(manager).post("/usuarios/convidar", data={"name": "Bia", "email": "bia@alfa.example"})
    first = _mail_link(inbox, deliver_mail, "bia@alfa.example")
    invitation = db.session.scalar(select(Invitation))
    # an open invitation to the same e-mail is refused (resend instead)
    response = client.post("/usuarios/convidar", data={"name": "Bia", "email": "bia@alfa.example"})
    assert response.status_code == 422 and "Reenviar" in response.get_data(as_text=True)
    inbox.clear()
    assert client.post(f"/usuarios/convites/{invitation.id}/reenviar").status_code == 302
    second = _mail_link(inbox, deliver_mail, "bia@alfa.example")
    assert first != second
    assert client.get(first).status_code == 400 and client.get(second).status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        response = client.get(second)
        assert response.status_code == 400 and "expirou" in response.get_data(as_text=True)
    assert client.post(f"/usuarios/convites/{invitation.id}/cancelar").status_code == 302
    assert client.get(second).status_code == 400
    assert invitation.revoked_at is not None


def test_invitation_form_errors_are_shown_next_to_the_fields(client, db, login_as, client_user, manager):
    response = login_as(client_user).post("/usuarios/convidar", data={
        "name": "", "email": "nao-e-email", "cpf": "111.111.111-11", "phone": "123"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "email", "cpf", "phone"):
        assert f'data-field-error="{field}"' in html
    assert "CPF inválido" in html
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    # already a user of this company
    response = client.post("/usuarios/convidar", data={"name": "Eu", "email": client_user.email})
    assert response.status_code == 422 and "já tem acesso" in response.get_data(as_text=True)


def test_last_manager_stays_and_removing_one_membership_keeps_the_others(client, db, login_as, manager, partner,
                                                                         other_client):
    own = manager.memberships[0]
    response = login_as(manager).post(f"/usuarios/{own.id}/remover")
    assert response.status_code == 302
    assert db.session.get(Membership, own.id) is not None  # the last manager
    colleague = UserFactory(role=Role.MANAGER, partner=partner)
    colleague.memberships.append(Membership(role=Role.CLIENT, client_id=other_client.id))
    db.session.flush()
    side = colleague.memberships[0]
    assert client.post(f"/usuarios/{side.id}/remover").status_code == 302
    db.session.expire_all()
    assert [(m.role, m.client_id) for m in colleague.memberships] == [(Role.CLIENT, other_client.id)]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "membership.removed"))
    assert client.post(f"/usuarios/{colleague.memberships[0].id}/remover").status_code == 404  # not this firm's


def test_client_users_page_lists_the_company_users(client, db, login_as, client_user, client_row):
    colleague = UserFactory(role=Role.CLIENT, client_id=client_row.id, email="colega@empresa.example")
    html = login_as(client_user).get("/cliente/usuarios").get_data(as_text=True)
    assert colleague.email in html and client_user.email in html and "Ativar acesso" in html


# -- partner API ------------------------------------------------------------------------------------------

def test_api_me_names_the_tokens_partner(client, db, partner):
    _token, plaintext = create_api_token(partner, "ERP")
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).get_json()
    assert body["partner_id"] == partner.id and body["partner_name"] == (partner.trade_name or partner.legal_name)


def test_api_invitations(client, db, partner, other_partner, inbox, deliver_mail):
    _token, plaintext = create_api_token(partner, "ERP")
    headers = {"Authorization": f"Bearer {plaintext}"}
    response = client.post("/api/v1/invitations", json={"email": "novo@alfa.example", "name": "Novo Gestor"},
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "pending" and "token" not in str(created)
    assert _mail_link(inbox, deliver_mail, "novo@alfa.example")
    response = client.post("/api/v1/invitations", json={"email": "x", "cargo": 1}, headers=headers)
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"cargo"}
    response = client.post("/api/v1/invitations", json={"email": "x"}, headers=headers)
    assert response.status_code == 422 and {"email", "name"} <= set(response.get_json()["error"]["fields"])
    listed = client.get("/api/v1/invitations", headers=headers).get_json()["items"]
    assert [i["id"] for i in listed] == [created["id"]]

    _other, other_plain = create_api_token(other_partner, "ERP")
    other_headers = {"Authorization": f"Bearer {other_plain}"}
    assert client.get("/api/v1/invitations", headers=other_headers).get_json()["items"] == []
    assert client.delete(f"/api/v1/invitations/{created['id']}", headers=other_headers).status_code == 404
    assert client.delete(f"/api/v1/invitations/{created['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/invitations/{created['id']}", headers=headers).status_code == 409
    assert client.delete("/api/v1/invitations/abc", headers=headers).status_code == 404
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/me", "/api/v1/invitations", "/api/v1/invitations/{id}"} <= set(paths)
