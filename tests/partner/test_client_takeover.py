"""A manager cannot become the client: changing the client's e-mail does not move its login (the new
address confirms with the client's password; the old one is told), the acceptance link goes to the
client's own login address, and a logged-in manager cannot accept in the client's name."""

import re

import pytest
from sqlalchemy import select

from accounts.models import User
from contracts.models import Acceptance
from core.mail import OutboxEmail
from tests.factories import PASSWORD, ApiClient, UserFactory

MANAGER_MAILBOX = "caixa.do.gestor@revenda-esperta.example"


def mails(db, to, kind=None):
    query = select(OutboxEmail).where(OutboxEmail.to == to).order_by(OutboxEmail.id)
    if kind:
        query = query.where(OutboxEmail.kind == kind)
    return db.session.scalars(query).all()


def link(message, path):
    return re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", message.body_text).group(1)


def edit_form(client_row, **overrides):
    fields = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number", "complement",
              "district", "city", "state", "accountant_email")
    return {k: getattr(client_row, k) or "" for k in fields} | overrides


@pytest.fixture
def client_login(db, client_row):
    """The client's own login, with a password only the client knows."""
    return UserFactory(role="client", email=client_row.email, client_id=client_row.id)


def test_a_managers_email_change_does_not_hand_over_the_login(db, app, login_as, manager, client_row,
                                                              client_login):
    original = client_login.email
    db.session.commit()
    http = login_as(manager)
    response = http.post(f"/clientes/{client_row.id}/editar", data=edit_form(client_row, email=MANAGER_MAILBOX))
    assert response.status_code == 302
    db.session.expire_all()
    assert client_row.email == MANAGER_MAILBOX  # the company's e-mail changed...
    assert client_login.email == original  # ...its login did not
    [notice] = mails(db, original, "email_change_notice")
    assert MANAGER_MAILBOX in notice.body_text
    [confirm] = mails(db, MANAGER_MAILBOX, "email_change_confirm")
    confirm_path = link(confirm, "/confirmar-email/")

    # the manager's way in: a reset for the new address finds no login
    anonymous = app.test_client()
    anonymous.post("/esqueci-senha", data={"email": MANAGER_MAILBOX})
    assert mails(db, MANAGER_MAILBOX, "password_reset") == []
    # the confirmation link in the manager's mailbox needs the client's password
    page = anonymous.get(confirm_path)
    assert page.status_code == 200 and "Sua senha atual" in page.get_data(as_text=True)
    refused = anonymous.post(confirm_path, data={"password": "palpite-do-gestor"})
    assert refused.status_code == 422 and "Senha incorreta" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert client_login.email == original
    assert anonymous.post("/login", data={"email": original, "password": PASSWORD}).status_code == 302


def test_the_client_confirms_with_its_password_and_the_login_moves(db, app, login_as, manager, client_row,
                                                                   client_login):
    original = client_login.email
    db.session.commit()
    login_as(manager).post(f"/clientes/{client_row.id}/editar",
                           data=edit_form(client_row, email="novo@cliente-dono.example"))
    [confirm] = mails(db, "novo@cliente-dono.example", "email_change_confirm")
    http = app.test_client()
    done = http.post(link(confirm, "/confirmar-email/"), data={"password": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    db.session.expire_all()
    assert client_login.email == "novo@cliente-dono.example"
    assert http.post("/login", data={"email": original, "password": PASSWORD}).status_code == 401
    assert http.post("/login", data={"email": "novo@cliente-dono.example", "password": PASSWORD}).status_code == 302
    assert http.get(link(confirm, "/confirmar-email/")).status_code == 400  # single use


def test_a_never_activated_login_gets_its_first_access_at_the_confirmed_address(db, app, login_as, manager,
                                                                                 client_row):
    user = UserFactory(role="client", email=client_row.email, client_id=client_row.id, password_hash=None)
    db.session.commit()
    login_as(manager).post(f"/clientes/{client_row.id}/editar",
                           data=edit_form(client_row, email="certo@cliente.example"))
    [confirm] = mails(db, "certo@cliente.example", "email_change_confirm")
    assert app.test_client().post(link(confirm, "/confirmar-email/")).status_code == 302
    db.session.expire_all()
    assert user.email == "certo@cliente.example"
    assert [m.kind for m in mails(db, "certo@cliente.example")] == ["email_change_confirm", "welcome"]


def test_api_patch_of_the_email_asks_the_login_to_follow(db, client, partner, client_row, client_login):
    from partner.services import create_api_token

    _token, plaintext = create_api_token(partner, "ERP")
    original = client_login.email
    db.session.commit()
    response = ApiClient(client, plaintext).patch(f"/api/v1/clients/{client_row.id}", json={"email": MANAGER_MAILBOX})
    assert response.status_code == 200 and response.get_json()["email"] == MANAGER_MAILBOX
    db.session.expire_all()
    assert client_login.email == original
    assert mails(db, MANAGER_MAILBOX, "email_change_confirm") and mails(db, original, "email_change_notice")


def test_acceptance_goes_to_the_clients_login_not_the_address_the_manager_typed(db, login_as, manager,
                                                                              client_row, client_login):
    db.session.commit()
    http = login_as(manager)
    http.post(f"/clientes/{client_row.id}/editar", data=edit_form(client_row, email=MANAGER_MAILBOX))
    response = http.post(f"/clientes/{client_row.id}/contrato/reenviar-aceite")
    assert response.status_code == 302
    assert mails(db, MANAGER_MAILBOX, "contract_acceptance") == []
    [acceptance_mail] = mails(db, client_login.email, "contract_acceptance")
    accept_path = link(acceptance_mail, "/aceite/")

    # even holding the link, the logged-in manager cannot accept in the client's name
    page = http.get(accept_path)
    assert page.status_code == 403 and "ato do próprio cliente" in page.get_data(as_text=True)
    assert http.post(accept_path, data={"accept_terms": "1"}).status_code == 403
    assert db.session.scalar(select(Acceptance).where(Acceptance.client_id == client_row.id)) is None


def test_the_client_accepts_through_its_link(db, app, client, client_row, client_login):
    from contracts.services import request_acceptance

    to = request_acceptance(client_row)
    db.session.commit()
    assert to == client_login.email
    [acceptance_mail] = mails(db, client_login.email, "contract_acceptance")
    response = app.test_client().post(link(acceptance_mail, "/aceite/"), data={"accept_terms": "1"})
    assert response.status_code == 302
    assert db.session.scalar(select(Acceptance).where(Acceptance.client_id == client_row.id)) is not None
    assert db.session.scalar(select(User).where(User.id == client_login.id)).email == client_login.email
