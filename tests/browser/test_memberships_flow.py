"""Seed 003 in real Chromium: a client user of partner A's client is invited by a client of partner B,
opens "Registre agora" from the e-mail (the real SMTP server), is told the e-mail already has access,
links the accounts with the old password ("Vincular contas"), then switches firm in the top bar
("Selecione a empresa") and sees each firm's data only."""

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accounts.models import User
from accounts.services import client_users
from core.db import db
from core.mail import deliver_pending
from core.permissions import Role
from partner.models import Client
from tests.accounts.conftest import link_in

pytestmark = pytest.mark.browser

A_CLIENT = "Mercado Bom Preço Ltda"  # a client of partner A (demo)
B_CLIENT = "Restaurante Sabor do Sul Ltda"  # a client of partner B (demo)
OLD_PASSWORD = "senha-antiga-do-mercado"
B_PASSWORD = "senha-do-restaurante-sul"


def _client(legal_name) -> Client:
    return db.session.scalar(select(Client).where(Client.legal_name == legal_name))


def _set_up(live_app, suffix) -> tuple[str, str]:
    """A person already using A's client (their own password), and a user of B's client who invites."""
    with live_app.app_context():
        person = User(email=f"dono-{suffix}@mercado.example", name="Dono do Mercado", role=Role.CLIENT,
                      client_id=_client(A_CLIENT).id)
        person.set_password(OLD_PASSWORD)
        db.session.add(person)
        inviter = client_users(_client(B_CLIENT).id)[0]
        inviter.set_password(B_PASSWORD)
        db.session.commit()
        emails = person.email, inviter.email
        db.session.remove()
    return emails


def _invitation_link(live_app, smtp_server, address) -> str:
    with live_app.app_context():
        deliver_pending()
        db.session.commit()
        db.session.remove()
    smtp_server.wait_for(1)
    messages = smtp_server.to(address)
    assert messages, f"no e-mail to {address}"
    return link_in(messages[-1], "/convite/")


def _log_in(page, live_server, email, password):
    from core.extensions import limiter

    limiter.reset()
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Entrar", exact=True).click()


def test_invited_client_user_links_accounts_and_switches_firm(page, browser, browser_context_args, live_server,
                                                               live_app, smtp_server):
    suffix = uuid.uuid4().hex[:6]
    person_email, inviter_email = _set_up(live_app, suffix)

    # 1. B's client: Configurações → Usuários → the form ("Ativar acesso").
    _log_in(page, live_server, inviter_email, B_PASSWORD)
    page.wait_for_url(f"{live_server}/cliente")
    page.locator("aside").get_by_role("link", name="Usuários").click()
    expect(page.get_by_role("heading", name=re.compile("Usuários de"))).to_contain_text(B_CLIENT)
    page.fill("#f-name", "Dono do Mercado")
    page.fill("#f-email", person_email)
    page.fill("#f-cpf", "123.456.789-00")  # wrong check digits: told next to the field, nothing sent
    page.get_by_test_id("invite-submit").click()
    expect(page.locator("[data-field-error=cpf]")).to_contain_text("CPF inválido")
    page.fill("#f-cpf", "529.982.247-25")
    page.fill("#f-phone", "(51) 98765-4321")
    page.get_by_test_id("invite-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Convite enviado")
    expect(page.get_by_test_id("team-invitations")).to_contain_text(person_email)
    path = _invitation_link(live_app, smtp_server, person_email)

    # 2. The person, in their own browser: "Registre agora" → already has access → old password.
    context = browser.new_context(**browser_context_args)
    try:
        visitor = context.new_page()
        visitor.goto(f"{live_server}{path}")
        expect(visitor.get_by_test_id("already-has-access")).to_contain_text("Você já tem acesso com este e-mail")
        visitor.fill("#f-password", "nao-e-a-senha")
        visitor.get_by_test_id("link-accounts-submit").click()
        expect(visitor.locator("[data-field-error=password]")).to_contain_text("Senha incorreta")
        visitor.fill("#f-password", OLD_PASSWORD)
        visitor.get_by_role("button", name="Vincular contas").click()
        visitor.wait_for_url(f"{live_server}/cliente")
        expect(visitor.locator("h1")).to_contain_text(B_CLIENT)  # working in the new firm

        # 3. The top bar: "Selecione a empresa" lists both; switching shows each firm's data only.
        switcher = visitor.get_by_test_id("membership-switcher")
        expect(switcher.locator("option")).to_have_count(2)
        visitor.select_option("#membership-select", label=A_CLIENT)
        visitor.get_by_test_id("membership-switch").click()
        visitor.wait_for_url(f"{live_server}/cliente")
        expect(visitor.locator("h1")).to_contain_text(A_CLIENT)
        expect(visitor.locator("main")).not_to_contain_text(B_CLIENT)
        visitor.select_option("#membership-select", label=B_CLIENT)
        visitor.get_by_test_id("membership-switch").click()
        expect(visitor.locator("h1")).to_contain_text(B_CLIENT)
        expect(visitor.locator("main")).not_to_contain_text(A_CLIENT)

        # 4. The next login asks which firm, and the link cannot be used again.
        visitor.get_by_role("button", name="Sair").click()
        _log_in(visitor, live_server, person_email, OLD_PASSWORD)
        visitor.wait_for_url(f"{live_server}/empresas")
        expect(visitor.get_by_test_id("membership-chooser")).to_contain_text(A_CLIENT)
        expect(visitor.get_by_test_id("membership-chooser")).to_contain_text(B_CLIENT)
        visitor.goto(f"{live_server}{path}")
        expect(visitor.locator("main")).to_contain_text("já foi usado")
    finally:
        context.close()
