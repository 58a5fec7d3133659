"""Signup by link in real Chromium: a manager creates a link, a client opens it in another browser
context, signs up and accepts the contract; the manager then sees the new client and its history."""

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from stdnum.br import cnpj as stdnum_cnpj

from contracts.models import Acceptance, LinkState, SignupLink
from core.db import db
from partner.models import Client, ContractStatus

pytestmark = pytest.mark.browser


def new_cnpj() -> str:
    base = f"{uuid.uuid4().int % 10**8:08d}0001"
    digits = base + stdnum_cnpj.calc_check_digits(base)
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def test_manager_link_client_signs_up_and_accepts(login, browser, browser_context_args, live_server, live_app):
    suffix = uuid.uuid4().hex[:6]
    client_email = f"dona-{suffix}@sorveteria.example"

    # 1. The manager creates the link from the side menu.
    page = login("manager")
    page.locator("aside").get_by_role("link", name="Links de contratação").click()
    expect(page.get_by_role("heading", name="Links de contratação")).to_be_visible()
    page.check("#payer-client")
    page.select_option("#f-software_id", label="FazNota")
    page.select_option("#f-plan_id", label="Ouro — R$ 119,90")
    expect(page.get_by_test_id("price-preview")).to_have_text("R$ 119,90")
    page.fill("[name=client_email]", client_email)
    page.get_by_test_id("create-link").click()
    page.wait_for_url(re.compile(r"/links-de-contratacao/\d+$"))
    expect(page.get_by_role("alert")).to_contain_text("Link de contratação criado")
    expect(page.get_by_test_id("qr")).to_be_visible()
    expect(page.get_by_test_id("whatsapp")).to_have_attribute("href", re.compile(r"^https://wa\.me/\?text="))
    url = page.get_by_test_id("link-url").input_value()
    assert url.startswith(f"{live_server}/contratar/")
    link_id = int(page.url.rsplit("/", 1)[1])

    # 2. The client, in its own browser context (no manager session), signs up.
    context = browser.new_context(**browser_context_args)
    try:
        visitor = context.new_page()
        visitor.goto(url)
        expect(visitor.get_by_test_id("signup-price")).to_contain_text("R$ 119,90")
        expect(visitor.get_by_test_id("terms")).to_contain_text("TERMOS DE CONTRATAÇÃO")
        expect(visitor.locator("[name=email]")).to_have_value(client_email)
        legal_name = f"Sorveteria Gelato {suffix} Ltda"
        for name, value in {
            "legal_name": legal_name, "cnpj": new_cnpj(), "phone": "(11) 91234-5678", "cep": "01310-100",
            "street": "Rua Augusta", "number": "500", "district": "Consolação", "city": "São Paulo", "state": "SP",
            "password": "sorvete-de-flocos", "confirm_password": "sorvete-de-flocos",
        }.items():
            visitor.fill(f"[name={name}]", value)
        visitor.get_by_test_id("signup-submit").click()
        # forgot the checkbox: the page says so next to it, and nothing was created
        expect(visitor.locator("[data-field-error=accept_terms]")).to_contain_text("aceite os termos")
        # the passwords typed are still there: only the checkbox is missing
        expect(visitor.locator("[name=password]")).to_have_value("sorvete-de-flocos")
        expect(visitor.locator("[name=confirm_password]")).to_have_value("sorvete-de-flocos")
        visitor.get_by_label("Li e aceito os termos").check()
        visitor.get_by_test_id("signup-submit").click()
        visitor.wait_for_url(f"{live_server}/cliente")
        expect(visitor.get_by_role("heading", level=1)).to_contain_text(legal_name)
        expect(visitor.get_by_test_id("client-accepted")).to_contain_text("termos v1")

        # the link is spent: opening it again gives the clear page
        visitor.goto(url)
        expect(visitor.get_by_test_id("link-unavailable")).to_contain_text("já foi utilizado")
    finally:
        context.close()

    # 3. The manager sees the link used, the new client and its history.
    page.goto(f"{live_server}/links-de-contratacao")
    row = page.locator(f"tr[data-link-id='{link_id}']")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "used")
    row.get_by_role("link", name=legal_name).click()
    page.wait_for_url(re.compile(r"/clientes/\d+$"))
    history = page.get_by_test_id("history")
    expect(history).to_contain_text("Cliente cadastrado")
    expect(history).to_contain_text("Contrato aceito")
    expect(history).to_contain_text("Onde: na página de contratação")
    expect(history).not_to_contain_text("client.created")
    page.get_by_role("link", name="Contrato", exact=True).click()
    expect(page.get_by_test_id("acceptance")).to_contain_text("v1")
    expect(page.get_by_test_id("contract-history")).to_contain_text("Aceite do contrato")

    with live_app.app_context():
        link = db.session.get(SignupLink, link_id)
        new = db.session.scalar(select(Client).where(Client.email == client_email))
        assert link.state == LinkState.USED and link.used_by_client_id == new.id
        assert new.status == ContractStatus.ACTIVE
        acceptance = db.session.scalar(select(Acceptance).where(Acceptance.client_id == new.id))
        assert acceptance.ip == "127.0.0.1" and "Chrome" in acceptance.user_agent
        db.session.remove()


def test_signup_keeps_the_ticked_terms_and_both_passwords_after_an_error(browser, browser_context_args, live_app,
                                                                        live_server):
    """A wrong CNPJ: the message sits by the CNPJ; the terms box stays ticked and the passwords stay typed."""
    from contracts import services as contract_services
    from partner.models import Partner, Plan

    with live_app.test_request_context(base_url=live_server):
        partner = db.session.scalar(select(Partner).order_by(Partner.id))
        plan = db.session.scalar(select(Plan).where(Plan.is_active).order_by(Plan.id))
        link = contract_services.create_signup_link(partner, {"plan_id": str(plan.id), "payer": "client"})
        url = contract_services.link_url(link)
        db.session.commit()
        db.session.remove()

    suffix = uuid.uuid4().hex[:6]
    context = browser.new_context(**browser_context_args)
    try:
        visitor = context.new_page()
        visitor.goto(url)
        for name, value in {
            "legal_name": f"Quitanda Árvore {suffix} Ltda", "cnpj": "11.111.111/1111-11", "cep": "01310-100",
            "street": "Rua Augusta", "number": "500", "district": "Consolação", "city": "São Paulo", "state": "SP",
            "email": f"quitanda-{suffix}@example.com", "password": "banana-da-terra", "confirm_password": "banana-da-terra",
        }.items():
            visitor.fill(f"[name={name}]", value)
        visitor.get_by_label("Li e aceito os termos").check()
        visitor.get_by_test_id("signup-submit").click()

        expect(visitor.locator("[data-field-error=cnpj]")).to_be_visible()
        expect(visitor.get_by_label("Li e aceito os termos")).to_be_checked()
        expect(visitor.locator("[name=password]")).to_have_value("banana-da-terra")
        expect(visitor.locator("[name=confirm_password]")).to_have_value("banana-da-terra")
        expect(visitor.locator("[name=legal_name]")).to_have_value(f"Quitanda Árvore {suffix} Ltda")

        # fixing the one field is enough
        visitor.fill("[name=cnpj]", new_cnpj())
        visitor.get_by_test_id("signup-submit").click()
        visitor.wait_for_url(f"{live_server}/cliente")
    finally:
        context.close()
