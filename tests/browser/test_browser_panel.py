"""The partner panel in real Chromium: a manager registers a client; an accountant sees less."""

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from stdnum.br import cnpj as stdnum_cnpj

from core.db import db
from partner.models import Client, Payer

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/dashboard.png"


def new_cnpj() -> str:
    """A CNPJ with valid check digits, formatted like a person types it."""
    base = f"{uuid.uuid4().int % 10**8:08d}0001"
    digits = base + stdnum_cnpj.calc_check_digits(base)
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def test_manager_registers_a_client_and_finds_it_on_the_dashboard(login, live_server, live_app):
    page = login("manager")
    page.locator("main").get_by_role("link", name="Novo cadastro").click()
    expect(page.get_by_role("heading", name="Novo cadastro")).to_be_visible()

    page.check("#payer-partner")
    page.select_option("#f-software_id", label="FazNota")
    page.select_option("#f-plan_id", label="Ouro — R$ 119,90")
    preview = page.get_by_test_id("price-preview")
    expect(preview).to_contain_text("R$ 59,95")  # the partner pays: 50% off R$ 119,90
    expect(preview).to_contain_text("R$ 119,90")
    page.check("#payer-client")
    expect(preview).to_have_text("R$ 119,90")
    page.check("#payer-partner")
    expect(preview).to_contain_text("R$ 59,95")

    suffix = uuid.uuid4().hex[:6]
    cnpj = new_cnpj()
    legal_name = f"Cafeteria Grão Fino {suffix} Ltda"
    form = {
        "legal_name": legal_name, "trade_name": f"Grão Fino {suffix}", "cnpj": cnpj,
        "email": f"financeiro-{suffix}@graofino.example", "phone": "(11) 98765-4321", "cep": "01310-100",
        "street": "Av. Paulista", "number": "1500", "district": "Bela Vista", "city": "São Paulo", "state": "SP",
    }
    for name, value in form.items():
        page.fill(f"[name={name}]", value)
    page.get_by_role("button", name="Cadastrar").click()

    page.wait_for_url(re.compile(r"/clientes/\d+$"))
    expect(page.get_by_role("alert")).to_contain_text(f"Cliente {legal_name} cadastrado")
    expect(page.get_by_test_id("price")).to_contain_text("R$ 59,95")
    expect(page.get_by_test_id("manager-buttons")).to_be_visible()
    # Until the client accepts, the status says so — not "Efetivado" beside "Aguardando aceite".
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Aguardando aceite")
    expect(heading).not_to_contain_text("Efetivado")

    page.get_by_role("link", name="Dashboard").first.click()
    page.fill("[name=q]", f"grão fino {suffix}")
    page.get_by_role("button", name="Filtrar").click()
    table = page.get_by_test_id("clients-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(legal_name)
    expect(table.locator("tbody tr")).to_contain_text("Aguardando aceite")
    expect(table.locator("tbody tr")).not_to_contain_text("Efetivado")
    expect(table).to_contain_text(cnpj)
    expect(page.get_by_test_id("total")).to_have_text("1")

    page.goto(f"{live_server}/painel")
    expect(page.get_by_test_id("clients-table")).to_contain_text(legal_name)
    page.screenshot(path=SCREENSHOT, full_page=True)

    with live_app.app_context():
        saved = db.session.scalar(select(Client).where(Client.legal_name == legal_name))
        assert saved is not None
        assert saved.payer == Payer.PARTNER
        assert saved.cnpj == re.sub(r"\D", "", cnpj)
        assert saved.partner.cnpj == "11222333000181"  # the demo manager's partner
        db.session.remove()


def test_accountant_sees_linked_clients_but_never_the_manager_buttons(login, live_server):
    page = login("accountant")
    table = page.get_by_test_id("clients-table")
    expect(table).to_contain_text("Padaria Pão Quente Ltda")
    expect(table).to_contain_text("Mercado Bom Preço Ltda")
    expect(table).not_to_contain_text("Oficina Roda Viva ME")  # not linked to this accountant
    expect(table).not_to_contain_text("Restaurante Sabor do Sul Ltda")  # another partner's client
    expect(page.get_by_text("Novo cadastro")).to_have_count(0)

    table.locator("tr", has_text="Padaria Pão Quente Ltda").get_by_role("link", name="Gerenciar").click()
    page.wait_for_url(re.compile(r"/clientes/\d+$"))
    expect(page.get_by_role("heading", name=re.compile("Padaria Pão Quente Ltda"))).to_be_visible()
    expect(page.get_by_test_id("manager-buttons")).to_have_count(0)
    expect(page.get_by_text("Acessar software do cliente")).to_have_count(0)
    expect(page.get_by_text("Editar dados")).to_have_count(0)

    response = page.goto(f"{live_server}/clientes/novo")
    assert response.status == 403


def test_wrong_password_shows_the_error(page, live_server, demo_logins):
    page.goto(f"{live_server}/login")
    page.fill("#email", demo_logins["users"]["manager"]["email"])
    page.fill("#password", "senha-errada-123")
    page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page.get_by_test_id("login-error")).to_have_text("E-mail ou senha incorretos.")
    assert page.url.startswith(f"{live_server}/login")
    expect(page.locator("#email")).to_have_value(demo_logins["users"]["manager"]["email"])
