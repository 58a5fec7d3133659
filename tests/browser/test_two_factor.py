"""Two-factor authentication in Chromium: enrol with a code computed from the secret the page shows, log
in with a code, log in with a recovery code (and not twice with the same), staff meet enrolment on their
first login, and an admin resets a user's 2FA (the user then enters with the password only and is told
by e-mail)."""

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accounts.models import User
from core.db import db
from core.mail import deliver_pending
from core.permissions import Role
from partner.models import Partner
from tests.browser.two_factor_steps import TOTP_SECRETS, enrol_on_page, pass_two_factor

pytestmark = pytest.mark.browser
PASSWORD = "duas-etapas-2026"


def new_user(live_app, role: Role, prefix: str) -> str:
    """A user of its own in the live database (no other test's logins to disturb); returns the e-mail."""
    email = f"{prefix}-{uuid.uuid4().hex[:6]}@duas-etapas.example"
    with live_app.app_context():
        partner = db.session.scalar(select(Partner).where(Partner.cnpj == "11222333000181")) \
            if role == Role.MANAGER else None
        user = User(email=email, role=role, name=prefix.title(), partner_id=partner.id if partner else None)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    return email


def password_step(page, live_server, email):
    from core.extensions import limiter

    limiter.reset()  # every test signs in from 127.0.0.1
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Entrar", exact=True).click()


def log_out(page):
    page.get_by_role("button", name="Sair").first.click()
    page.wait_for_url(re.compile(r"/login$"))


def test_enrol_then_log_in_with_a_code_and_with_a_recovery_code_once(page, live_server, live_app):
    email = new_user(live_app, Role.MANAGER, "gestor")
    password_step(page, live_server, email)
    page.wait_for_url(re.compile(r"/painel$"))  # not required for this partner: no second step yet

    page.get_by_role("link", name="Alterar senha").click()
    page.get_by_role("link", name="Configurar a verificação em duas etapas").click()
    expect(page.get_by_test_id("two-factor-status")).to_contain_text("Desativada")
    page.get_by_role("link", name="Ativar a verificação em duas etapas").click()
    expect(page.get_by_test_id("two-factor-qr")).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", page.get_by_test_id("two-factor-qr").element_handle()) > 0
    page.fill("#f-password", PASSWORD)
    page.fill("#f-code", "000000")
    page.get_by_role("button", name="Ativar", exact=True).click()
    expect(page.locator("[data-field-error=code]")).to_contain_text("Código inválido")
    codes = enrol_on_page(page, email, PASSWORD)
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    page.wait_for_url(re.compile(r"/painel$"))
    log_out(page)

    password_step(page, live_server, email)  # with a code of the app
    page.wait_for_url(re.compile(r"/login/verificacao$"))
    page.goto(f"{live_server}/painel")
    page.wait_for_url(re.compile(r"/login"))  # nobody is logged in between the two steps
    password_step(page, live_server, email)
    pass_two_factor(page, email, PASSWORD)
    page.wait_for_url(re.compile(r"/painel$"))
    log_out(page)

    password_step(page, live_server, email)  # with a recovery code: the phone is lost
    page.fill("#code", codes[3])
    page.get_by_role("button", name="Verificar").click()
    page.wait_for_url(re.compile(r"/painel$"))
    expect(page.get_by_role("alert").filter(has_text="código de recuperação")).to_contain_text("restam 9")
    log_out(page)

    password_step(page, live_server, email)  # the same recovery code again: refused
    page.fill("#code", codes[3])
    page.get_by_role("button", name="Verificar").click()
    expect(page.get_by_test_id("two-factor-error")).to_contain_text("Código inválido")
    assert "/login/verificacao" in page.url


def test_staff_land_on_enrolment_and_can_do_nothing_else(page, live_server, live_app):
    email = new_user(live_app, Role.FINANCE, "financeiro")
    password_step(page, live_server, email)
    page.wait_for_url(re.compile(r"/verificacao-em-duas-etapas/ativar$"))
    expect(page.get_by_test_id("two-factor-required")).to_contain_text("obrigatória")
    page.goto(f"{live_server}/admin/invoices/")
    page.wait_for_url(re.compile(r"/verificacao-em-duas-etapas/ativar$"))  # every page sends back here
    enrol_on_page(page, email, PASSWORD)
    page.wait_for_url(re.compile(r"/admin/?$"))
    page.goto(f"{live_server}/admin/invoices/")
    expect(page).to_have_url(re.compile(r"/admin/invoices/$"))


def test_admin_resets_a_users_2fa_and_the_user_is_told(browser, live_server, live_app, demo_logins, smtp_server):
    email = new_user(live_app, Role.MANAGER, "perdeu-celular")
    user_context = browser.new_context(locale="pt-BR")
    page = user_context.new_page()
    password_step(page, live_server, email)
    page.goto(f"{live_server}/conta/verificacao-em-duas-etapas/ativar")
    enrol_on_page(page, email, PASSWORD)
    assert email in TOTP_SECRETS
    user_context.close()

    admin_context = browser.new_context(locale="pt-BR")
    page = admin_context.new_page()
    admin = demo_logins["users"]["admin"]
    from core.extensions import limiter

    limiter.reset()
    page.goto(f"{live_server}/login")
    page.fill("#email", admin["email"])
    page.fill("#password", admin["password"])
    page.get_by_role("button", name="Entrar", exact=True).click()
    pass_two_factor(page, admin["email"], admin["password"])  # the demo admin: enrolment on first login
    page.goto(f"{live_server}/admin/users/?search={email}")
    page.locator("input.action-checkbox").first.check()
    page.locator("[data-toggle=dropdown]", has_text=re.compile("selecionado|selected")).click()
    page.once("dialog", lambda dialog: dialog.accept())  # "Redefinir…? … avisado por e-mail."
    page.get_by_text("Redefinir verificação em duas etapas").click()
    expect(page.get_by_text("redefinida para 1 usuário")).to_be_visible()
    assert TOTP_SECRETS[email] not in page.content()
    admin_context.close()

    user_context = browser.new_context(locale="pt-BR")
    page = user_context.new_page()
    password_step(page, live_server, email)
    page.wait_for_url(re.compile(r"/painel$"))  # the password alone, now
    user_context.close()

    with live_app.app_context():
        deliver_pending()
        db.session.commit()
        db.session.remove()
    message = smtp_server.to(email)[-1]
    body = message.get_body(("plain",)).get_content()
    assert "redefiniu a verificação em duas etapas" in body
