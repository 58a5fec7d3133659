"""Login, logout, rate limit, password change, reset and first-access links, cookies, CSRF."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from accounts.models import User
from core.audit import AuditEvent
from core.config import Config
from core.mail import OutboxEmail
from core.permissions import Role
from partner.models import Client
from tests.accounts.conftest import link_in
from tests.conftest import login_id
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "uma-senha-nova-e-longa"
CSRF_MESSAGE = "Sua sessão expirou ou o formulário é inválido. Recarregue a página e tente novamente."


def login(client, email, password=PASSWORD, **query):
    return client.post("/login", data={"email": email, "password": password}, query_string=query)


def count(model):
    from core.db import db

    return db.session.scalar(select(func.count()).select_from(model))


# -- login / logout -------------------------------------------------------------------------------


@pytest.mark.parametrize("role, home", [(Role.MANAGER, "/painel"), (Role.ADMIN, "/admin/"),
                                        (Role.FINANCE, "/admin/"), (Role.ACCOUNTANT, "/contador/notas")])
def test_login_redirects_home_by_role(db, client, role, home):
    user = UserFactory(role=role)
    response = login(client, user.email.upper())
    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert user.last_login_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.login",
                                                      AuditEvent.actor_id == user.id))


@pytest.mark.parametrize("email, password", [("known", "senha-errada"), ("ninguem@nada.example", PASSWORD),
                                             ("known", ""), ("", "")])
def test_bad_login_is_401_with_message(client, manager, committed, email, password):
    committed()
    response = login(client, manager.email if email == "known" else email, password)
    assert response.status_code == 401
    assert "E-mail ou senha incorretos." in response.get_data(as_text=True)
    assert client.get("/painel").status_code == 302  # still anonymous


def test_inactive_user_cannot_log_in(client, partner, committed):
    user = UserFactory(role=Role.MANAGER, partner=partner, is_active=False)
    committed()
    response = login(client, user.email)
    assert response.status_code == 401
    assert "E-mail ou senha incorretos." in response.get_data(as_text=True)


def test_deactivated_user_is_logged_out(db, client, manager, committed):
    committed()
    assert login(client, manager.email).status_code == 302
    manager.is_active = False
    committed()
    assert client.get("/painel").status_code == 302


def test_logout_is_a_post(client, manager, committed):
    committed()
    login(client, manager.email)
    assert client.get("/logout").status_code == 405
    assert client.get("/painel").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/painel").status_code == 302


def test_login_is_rate_limited(app, client, manager, committed):
    committed()
    previous = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [login(client, manager.email, "errada").status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        blocked = login(client, manager.email)  # even the right password waits now
        assert blocked.status_code == 429
        assert "Muitas tentativas" in blocked.get_data(as_text=True)
        assert client.get("/login").status_code == 200  # only POSTs count
    finally:
        app.config["LOGIN_RATE_LIMIT"] = previous


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example", "http:/evil.example",
                                    "javascript:alert(1)", "evil.example", "/\\evil.example", "/\t/evil.example"])
def test_open_redirect_in_next_is_rejected(client, manager, committed, target):
    committed()
    response = login(client, manager.email, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/painel"


def test_local_next_is_followed(client, manager, committed):
    committed()
    response = login(client, manager.email, next="/meus-dados?tab=api")
    assert response.headers["Location"] == "/meus-dados?tab=api"


def test_protected_page_sends_to_login_with_next(client):
    response = client.get("/meus-dados")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# -- session cookie ---------------------------------------------------------------------------------


def test_session_cookie_flags(client, manager, committed):
    committed()
    response = login(client, manager.email)
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests run like the embedded default (plain http)


@pytest.mark.parametrize("production, secure", [("1", True), ("0", False)])
def test_cookies_are_secure_in_production(monkeypatch, tmp_path, production, secure):
    monkeypatch.setenv("REVENDA_PRODUCTION", production)
    monkeypatch.setenv("REVENDA_INSTANCE", str(tmp_path))
    config = Config().as_dict()
    assert config["SESSION_COOKIE_SECURE"] is secure
    assert config["REMEMBER_COOKIE_SECURE"] is secure
    assert config["SESSION_COOKIE_HTTPONLY"] is True and config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


# -- Alterar senha ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form, field, message", [
    ({"current_password": "errada", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
     "current_password", "Senha atual incorreta."),
    ({"current_password": PASSWORD, "new_password": "curta", "confirm_password": "curta"},
     "new_password", "A senha deve ter pelo menos 8 caracteres."),
    ({"current_password": PASSWORD, "new_password": "x" * 129, "confirm_password": "x" * 129},
     "new_password", "A senha deve ter no máximo 128 caracteres."),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "!"},
     "confirm_password", "A confirmação não confere com a nova senha."),
])
def test_change_password_errors(db, login_as, manager, committed, form, field, message):
    committed()
    client = login_as(manager)
    hash_before = manager.password_hash
    response = client.post("/senha", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'data-field-error="{field}">{message}<' in html
    db.session.expire_all()
    assert manager.password_hash == hash_before


def test_change_password_success(db, client, manager, committed):
    committed()
    login(client, manager.email)
    response = client.post("/senha", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm_password": NEW_PASSWORD}, follow_redirects=True)
    assert response.status_code == 200
    assert "Senha alterada com sucesso" in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed",
                                                      AuditEvent.object_id == manager.id))
    client.post("/logout")
    assert login(client, manager.email, PASSWORD).status_code == 401
    assert login(client, manager.email, NEW_PASSWORD).status_code == 302


def test_change_password_from_profile_goes_back_to_profile(client, manager, committed):
    committed()
    login(client, manager.email)
    response = client.post("/senha", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm_password": NEW_PASSWORD, "back": "profile"})
    assert response.headers["Location"] == "/meus-dados?tab=senha"


# -- Esqueceu a senha? --------------------------------------------------------------------------------


def _request_reset(client, email):
    response = client.post("/esqueci-senha", data={"email": email}, follow_redirects=True)
    assert response.status_code == 200
    assert "Se o e-mail estiver cadastrado, enviamos um link" in response.get_data(as_text=True)


def test_forgot_password_link_works_once(db, client, manager, committed, inbox, deliver_mail):
    committed()
    _request_reset(client, manager.email)
    assert deliver_mail() == 1
    inbox.wait_for(1)
    [message] = inbox.to(manager.email)
    assert message["Subject"].startswith("Redefinição de senha")
    link = link_in(message, "/redefinir-senha/")

    page = client.get(link)
    assert page.status_code == 200 and manager.email in page.get_data(as_text=True)
    mismatch = client.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": "outra-coisa"})
    assert mismatch.status_code == 422
    done = client.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    committed()
    assert login(client, manager.email, NEW_PASSWORD).status_code == 302
    client.post("/logout")

    again = client.post(link, data={"new_password": "terceira-senha-x", "confirm_password": "terceira-senha-x"})
    assert again.status_code == 400
    assert "inválido ou já foi usado" in again.get_data(as_text=True)
    assert login(client, manager.email, NEW_PASSWORD).status_code == 302


def test_reset_link_expires_after_two_hours(client, manager, committed, inbox, deliver_mail):
    start = datetime.now(UTC).replace(microsecond=0)
    committed()
    with time_machine.travel(start, tick=False):
        _request_reset(client, manager.email)
        deliver_mail()
        link = link_in(inbox.wait_for(1)[0], "/redefinir-senha/")
    with time_machine.travel(start + timedelta(hours=1, minutes=59), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        response = client.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "Este link expirou" in response.get_data(as_text=True)
    assert login(client, manager.email, PASSWORD).status_code == 302


def test_tampered_reset_link_is_rejected(client, manager, committed, inbox, deliver_mail):
    committed()
    _request_reset(client, manager.email)
    deliver_mail()
    link = link_in(inbox.wait_for(1)[0], "/redefinir-senha/")
    token = link.rsplit("/", 1)[1]
    tampered = link[: -len(token)] + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(tampered, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "inválido ou já foi usado" in response.get_data(as_text=True)
    # a token for first access is not a reset token (different salt)
    first_access_path = "/primeiro-acesso/" + token
    assert client.get(first_access_path).status_code == 400
    assert login(client, manager.email, PASSWORD).status_code == 302


def test_unknown_email_gets_the_same_answer_and_no_mail(db, client, inbox, deliver_mail):
    before = count(OutboxEmail)
    _request_reset(client, "ninguem@lugar-nenhum.example")
    assert count(OutboxEmail) == before
    assert deliver_mail() == 0
    assert inbox.messages == []


def test_inactive_user_gets_no_reset_mail(client, partner, committed, deliver_mail, inbox):
    user = UserFactory(role=Role.MANAGER, partner=partner, is_active=False)
    committed()
    _request_reset(client, user.email)
    assert deliver_mail() == 0


# -- first access from the registration e-mail -------------------------------------------------------


def test_first_access_link_from_welcome_email(db, client, manager, plan, committed, inbox, deliver_mail):
    committed()
    login(client, manager.email)
    form = {
        "payer": "client", "software_id": plan.software_id, "plan_id": plan.id,
        "legal_name": "Cliente Primeiro Acesso Ltda", "cnpj": "11.222.333/0001-81", "email": "dono@primeiro.example",
        "cep": "01310-100", "street": "Av. Paulista", "number": "900", "district": "Bela Vista",
        "city": "São Paulo", "state": "SP",
    }
    assert client.post("/clientes/novo", data=form).status_code == 302
    client.post("/logout")
    deliver_mail()
    inbox.wait_for(1)
    [welcome] = inbox.to("dono@primeiro.example")  # one e-mail: contract acceptance and first access
    link = link_in(welcome, "/primeiro-acesso/")
    user = db.session.scalar(select(User).where(User.email == "dono@primeiro.example"))
    assert user.role == Role.CLIENT and user.password_hash is None
    assert login(client, user.email, NEW_PASSWORD).status_code == 401  # no password yet

    assert client.get(link).status_code == 200
    response = client.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    committed()
    logged = login(client, user.email, NEW_PASSWORD)
    assert logged.status_code == 302 and logged.headers["Location"] == "/cliente"
    assert "Cliente Primeiro Acesso Ltda" in client.get("/cliente").get_data(as_text=True)
    client.post("/logout")
    assert client.get(link).status_code == 400  # single use


# -- CSRF -------------------------------------------------------------------------------------------------


def test_post_without_csrf_token_is_400_and_changes_nothing(db, csrf_client, manager, plan, committed):
    committed()
    with csrf_client.session_transaction() as session:
        session["_user_id"] = login_id(manager)
        session["_fresh"] = True
    hash_before, clients_before = manager.password_hash, count(Client)
    response = csrf_client.post("/senha", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    new = csrf_client.post("/clientes/novo", data={"legal_name": "Sem Token Ltda", "payer": "client"})
    assert new.status_code == 400
    db.session.expire_all()
    assert manager.password_hash == hash_before
    assert count(Client) == clients_before


def test_login_form_needs_csrf_token(csrf_client, manager, committed):
    committed()
    response = csrf_client.post("/login", data={"email": manager.email, "password": PASSWORD})
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)


def test_form_with_csrf_token_passes(csrf_client, manager, committed):
    import re

    committed()
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = csrf_client.post("/login", data={"email": manager.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_staff_admin_names_users_by_email(db, login_as, admin_user, manager, client_row):
    """Flask-Admin prints related users with str() ("Criada por"): an e-mail, not "<User 3 manager>"."""
    from certificates.services import ensure_integration_key

    ensure_integration_key(client_row, actor=manager)
    db.session.flush()
    assert str(manager) == manager.email
    html = login_as(admin_user).get("/admin/admin_integration_keys/").get_data(as_text=True)
    assert manager.email in html and "&lt;User" not in html
