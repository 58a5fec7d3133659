"""Accountants linked by acceptance: invisible until accepted, gone at once when removed or dropped."""

import re

import pytest
from sqlalchemy import select

from accounts.models import User
from core.permissions import Role
from core.validators import ValidationError
from partner import accountants
from partner.access import clients_visible_to
from partner.models import AccountantLink, LinkStatus
from tests.factories import ClientFactory, UserFactory


def visible_ids(db, user) -> set[int]:
    return {c.id for c in db.session.scalars(clients_visible_to(user))}


def link_from(message) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/contador/aceite/\S+)", body).group(1)


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def test_an_invited_accountant_sees_nothing_until_accepting(db, partner, plan, manager, inbox, deliver_mail):
    company = ClientFactory(partner=partner, plan=plan, legal_name="Padaria Pão Quente Ltda")
    link = accountants.invite_accountant(company, "Novo.Contador@Escritorio.example", actor=manager)
    deliver_mail()
    user = db.session.scalar(select(User).where(User.email == "novo.contador@escritorio.example"))
    assert user.role == Role.ACCOUNTANT and user.password_hash is None  # set at first access
    assert link.status == LinkStatus.PENDING and visible_ids(db, user) == set()
    [message] = inbox.to("novo.contador@escritorio.example")
    assert message["Subject"] == f"{partner} – Notas Padaria Pão Quente Ltda"
    token = token_of(link_from(message))
    assert link.token_hash and token not in link.token_hash  # stored hashed
    accountants.accept_invitation(accountants.load_invitation(token), user)
    assert visible_ids(db, user) == {company.id}
    with pytest.raises(accountants.LinkInvalid):
        accountants.load_invitation(token)  # single use


def test_removal_and_dropping_take_effect_at_once(db, accountant, client_row, partner, plan, manager):
    second = ClientFactory(partner=partner, plan=plan, accountant_email=accountant.email)
    assert visible_ids(db, accountant) == {client_row.id, second.id}
    links = {link.client_id: link for link in db.session.scalars(select(AccountantLink))}
    accountants.revoke_link(links[client_row.id], actor=manager)
    accountants.drop_company(links[second.id], accountant)
    assert visible_ids(db, accountant) == set()
    assert (links[client_row.id].status, links[second.id].status) == (LinkStatus.REMOVED, LinkStatus.DECLINED)


def test_changing_the_accountant_email_moves_the_link(db, accountant, client_row, manager, inbox, deliver_mail):
    from partner.services import update_client

    update_client(client_row, {"accountant_email": "outro@contabil.example"}, actor=manager)
    deliver_mail()
    assert visible_ids(db, accountant) == set()
    assert len(inbox.to("outro@contabil.example")) == 1
    states = {link.email: link.status for link in accountants.links_of(client_row)}
    assert states == {accountant.email: LinkStatus.REMOVED, "outro@contabil.example": LinkStatus.PENDING}


def test_an_email_of_another_kind_of_user_is_refused(db, client_row, manager):
    with pytest.raises(ValidationError) as exc:
        accountants.invite_accountant(client_row, manager.email, actor=manager)
    assert "não é de contador" in exc.value.fields["accountant_email"]
    assert accountants.links_of(client_row) == [link for link in accountants.links_of(client_row)
                                                if link.email != manager.email]


def test_an_expired_invitation_is_refused(db, client_row, manager, inbox, deliver_mail):
    from datetime import timedelta

    link = accountants.invite_accountant(client_row, "tarde@contabil.example", actor=manager)
    deliver_mail()
    token = token_of(link_from(inbox.to("tarde@contabil.example")[0]))
    link.expires_at -= timedelta(days=accountants.INVITE_DAYS + 1)
    with pytest.raises(accountants.LinkInvalid) as exc:
        accountants.load_invitation(token)
    assert exc.value.expired


def test_the_acceptance_page_lets_a_new_accountant_accept_then_set_a_password(client, db, client_row, manager,
                                                                              inbox, deliver_mail):
    accountants.invite_accountant(client_row, "primeiro@contabil.example", actor=manager)
    deliver_mail()
    path = link_from(inbox.to("primeiro@contabil.example")[0])
    page = client.get(path)
    assert page.status_code == 200 and client_row.legal_name in page.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "primeiro@contabil.example"))
    assert visible_ids(db, user) == set()  # a GET (a mail scanner) accepts nothing
    response = client.post(path, data={"action": "accept"})
    assert response.status_code == 302 and "/primeiro-acesso/" in response.headers["Location"]
    assert visible_ids(db, user) == {client_row.id}
    assert client.get(path).status_code == 400  # used


def test_an_existing_accountant_accepts_logged_in_as_the_invited_email(login_as, db, partner, plan, manager,
                                                                      other_manager, inbox, deliver_mail):
    existing = UserFactory(role=Role.ACCOUNTANT, email="ja@contabil.example")
    company = ClientFactory(partner=partner, plan=plan)
    accountants.invite_accountant(company, existing.email, actor=manager)
    deliver_mail()
    path = link_from(inbox.to(existing.email)[0])
    someone_else = UserFactory(role=Role.ACCOUNTANT, email="outra@contabil.example")
    assert login_as(someone_else).post(path, data={"action": "accept"}).status_code == 409
    assert visible_ids(db, someone_else) == set() and visible_ids(db, existing) == set()
    response = login_as(existing).post(path, data={"action": "accept"})
    assert response.status_code == 302
    assert visible_ids(db, existing) == {company.id}


def test_declining_from_the_email_link(client, db, client_row, manager, inbox, deliver_mail):
    link = accountants.invite_accountant(client_row, "nao@contabil.example", actor=manager)
    deliver_mail()
    path = link_from(inbox.to("nao@contabil.example")[0])
    assert client.post(path, data={"action": "decline"}).status_code == 302
    assert link.status == LinkStatus.DECLINED and link.token_hash is None


def test_the_client_names_its_accountant_and_sees_the_state(login_as, db, client_user, client_row, manager, inbox,
                                                            deliver_mail):
    http = login_as(client_user)
    bad = http.post("/cliente/contador", data={"accountant_email": "contador@"})
    assert bad.status_code == 422 and 'data-field-error="accountant_email"' in bad.get_data(as_text=True)
    refused = http.post("/cliente/contador", data={"accountant_email": manager.email})
    assert refused.status_code == 422 and "não é de contador" in refused.get_data(as_text=True)
    assert http.post("/cliente/contador", data={"accountant_email": "escritorio@contabil.example"}).status_code == 303
    deliver_mail()
    assert len(inbox.to("escritorio@contabil.example")) == 1
    page = http.get("/cliente").get_data(as_text=True)
    assert re.search(r'data-link="escritorio@contabil.example">.*?data-link-status="pending">pendente', page, re.S)
    [link] = [lnk for lnk in accountants.links_of(client_row) if lnk.email == "escritorio@contabil.example"]
    assert http.post(f"/cliente/contadores/{link.id}/reenviar").status_code == 303
    deliver_mail()
    assert len(inbox.to("escritorio@contabil.example")) == 2
    assert http.post(f"/cliente/contadores/{link.id}/remover").status_code == 303
    assert link.status == LinkStatus.REMOVED and client_row.accountant_email is None


def test_the_manager_sees_the_states_and_revokes(login_as, db, accountant, client_row, manager):
    http = login_as(manager)
    page = http.get(f"/clientes/{client_row.id}").get_data(as_text=True)
    assert 'data-link-status="accepted">aceito' in page
    [link] = accountants.links_of(client_row)
    assert http.post(f"/clientes/{client_row.id}/contadores/{link.id}/remover").status_code == 303
    assert visible_ids(db, accountant) == set()
    assert 'data-link-status="removed">removido' in http.get(f"/clientes/{client_row.id}").get_data(as_text=True)


def test_forgotten_password_works_before_any_acceptance(client, db, client_row, manager, inbox, deliver_mail):
    accountants.invite_accountant(client_row, "esqueci@contabil.example", actor=manager)
    deliver_mail()
    inbox.clear()
    assert client.post("/esqueci-senha", data={"email": "esqueci@contabil.example"}).status_code == 302
    deliver_mail()
    [message] = inbox.to("esqueci@contabil.example")
    assert "/redefinir-senha/" in message.get_body(("plain",)).get_content()
