"""Seed 000 from A to N in real Chromium: the manager names an accountant on a client's edit page, the
acceptance e-mail ("<Revenda> – Notas <Razão social>", read from the test SMTP server) leads to "Aceitar" and
the first access; the accountant logs in, selects the company in the top bar, the period, reads the totals
block against a known set of generated notes, uses the advanced filter and the four actions of a note, and
exports: the "Download das Notas" e-mail arrives with the report attached and its link gives the zip."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.browser

ACCOUNTANT = "novo.contador@escritorio.example"
NEW_PASSWORD = "portal-do-contador-1"


def _in_app(live_app, fn):
    from core.db import db

    with live_app.app_context():
        try:
            result = fn()
            db.session.commit()
            return result
        finally:
            db.session.remove()


def _deliver(live_app):
    from core.mail import deliver_pending

    _in_app(live_app, deliver_pending)


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def _world(live_app, demo_logins):
    """A company of the demo manager's partner with the known notes (tests/portal/conftest.py)."""
    from accounts.models import User
    from partner.models import Plan
    from tests.factories import ClientFactory
    from tests.portal.conftest import OTHER, SELLER, seed_known_notes

    def make():
        from core.db import db

        manager = db.session.scalar(select(User).where(User.email == demo_logins["users"]["manager"]["email"]))
        plan = db.session.scalar(select(Plan).limit(1))
        company = ClientFactory(partner=manager.partner, plan=plan, software=plan.software, cnpj=SELLER,
                                legal_name="Padaria Seed Zero Ltda", email="seedzero@empresa.example")
        other = ClientFactory(partner=manager.partner, plan=plan, software=plan.software, cnpj=OTHER,
                              legal_name="Outra Empresa Seed Ltda", email="outraseed@empresa.example")
        keys = seed_known_notes(company, other)
        return company.id, keys

    return _in_app(live_app, make)


def test_seed_000_a_to_n(page, live_server, live_app, demo_logins, smtp_server):
    from core.extensions import limiter
    from fiscal import exports
    from fiscal.models import FiscalExport

    limiter.reset()
    company_id, keys = _world(live_app, demo_logins)
    smtp_server.clear()

    # A — the manager names the accountant; the acceptance e-mail arrives
    creds = demo_logins["users"]["manager"]
    page.goto(f"{live_server}/login")
    page.fill("#email", creds["email"])
    page.fill("#password", creds["password"])
    page.get_by_role("button", name="Entrar", exact=True).click()
    page.wait_for_url(f"{live_server}/painel")
    page.goto(f"{live_server}/clientes/{company_id}/editar")
    page.fill("#f-accountant_email", ACCOUNTANT)
    page.get_by_role("button", name="Salvar").click()
    page.wait_for_url(f"{live_server}/clientes/{company_id}")
    expect(page.get_by_test_id("accountant-links").locator(f'[data-link="{ACCOUNTANT}"] [data-link-status]')
           ).to_have_text("pendente")
    page.get_by_role("button", name="Sair").click()
    _deliver(live_app)
    smtp_server.wait_for(1)
    [message] = smtp_server.to(ACCOUNTANT)
    assert message["Subject"].endswith("– Notas Padaria Seed Zero Ltda")
    link = re.search(r"(http://127\.0\.0\.1:\d+/contador/aceite/\S+)", _body(message)).group(1)

    # D — "Clique aqui": accept; a new accountant then sets a password (first access)
    page.goto(link)
    expect(page.get_by_test_id("company")).to_have_text("Padaria Seed Zero Ltda")
    page.get_by_test_id("accept").click()
    page.wait_for_url(re.compile(r"/primeiro-acesso/"))
    page.fill("#f-new_password", NEW_PASSWORD)
    page.fill("#f-confirm_password", NEW_PASSWORD)
    page.get_by_role("button", name="Salvar senha").click()
    page.wait_for_url(f"{live_server}/login")

    # B — the portal's login; G — the company in the top bar, environment Produção
    page.fill("#email", ACCOUNTANT)
    page.fill("#password", NEW_PASSWORD)
    page.get_by_role("button", name="Entrar", exact=True).click()
    page.wait_for_url(re.compile(r"/contador/notas"))
    selector = page.locator("#empresa")
    expect(selector.locator("option")).to_have_count(2)  # the prompt and the one accepted company
    selector.select_option(f"c{company_id}")
    page.wait_for_url(re.compile(rf"empresa=c{company_id}"))
    expect(page.locator("#ambiente")).to_have_value("1")

    # H — period and Pesquisar; I — icons per type present, the totals block
    page.locator("#f-periodo").select_option("este-mes")
    page.get_by_test_id("search").click()
    icons = page.get_by_test_id("model-icons")
    expect(icons.locator("[data-model]")).to_have_count(2)  # NF-e and NFC-e, no CT-e in the period
    totals = page.get_by_test_id("totals")
    expected = {"authorized-count": "3", "authorized-value": "1.350,49", "cancelled-count": "1",
                "cancelled-value": "80,00", "denied-count": "1", "denied-value": "40,00",
                "contingency-count": "1", "contingency-value": "12,34"}
    for name, value in expected.items():
        expect(totals.locator(f'[data-total="{name}"]')).to_have_text(value)
    expect(totals).to_contain_text("Quantidade de Autorizadas:")
    expect(page.get_by_test_id("notes").locator("tbody tr")).to_have_count(6)
    expect(page.get_by_test_id("chart").locator("rect").first).to_be_visible()
    page.locator("#f-participante").select_option("issued")  # Emitente: the notes the company issued
    page.get_by_test_id("search").click()
    expect(totals.locator('[data-total="authorized-count"]')).to_have_text("2")

    # J — Filtros Avançados: a bad value is told next to its field; Filtrar; Limpar
    page.get_by_text("Filtros Avançados").click()
    page.fill("#f-numero_de", "abc")
    page.get_by_test_id("filter").click()
    expect(page.locator('[data-field-error="numero_de"]')).to_be_visible()
    page.fill("#f-numero_de", "1")
    page.fill("#f-numero_ate", "2")
    page.get_by_test_id("filter").click()
    expect(page.get_by_test_id("notes").locator("tbody tr")).to_have_count(2)
    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("notes").locator("tbody tr")).to_have_count(5)  # issued ones, all numbers

    # N — the four actions of a note
    row = page.locator(f'tr[data-key="{keys["a1"]}"]')
    with page.expect_download() as download:
        row.locator('[data-action="xml"]').click()
    from pathlib import Path

    assert keys["a1"].encode() in Path(download.value.path()).read_bytes()
    danfe = page.request.get(live_server + row.locator('[data-action="danfe"]').get_attribute("href"))
    assert danfe.ok and danfe.body().startswith(b"%PDF")
    row.locator('[data-action="view"]').click()
    expect(page.get_by_test_id("total")).to_have_text("R$ 100,00")
    page.fill("#f-email", "arquivo@escritorio.example")
    page.get_by_test_id("send-email").click()
    expect(page.locator(".alert-success")).to_contain_text("arquivo@escritorio.example")

    # K — Relatório / Exportar Notas; M — the e-mail with "Download das Notas" and the PDF report; the zip
    page.go_back()
    page.go_back()
    page.goto(f"{live_server}/contador/notas?empresa=c{company_id}")
    page.get_by_test_id("export").click()
    expect(page.locator("#f-email")).to_have_value(ACCOUNTANT)  # prefilled, changeable
    page.get_by_test_id("do-export").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "Estamos gerando o arquivo para download, assim que estiver pronto enviaremos em seu email.")

    def build():
        from core.db import db

        export = db.session.scalar(select(FiscalExport).where(FiscalExport.client_id == company_id))
        exports.build_export(export.id)
        exports.notify_ready(export)

    smtp_server.clear()
    _in_app(live_app, build)
    _deliver(live_app)
    smtp_server.wait_for(1)
    [ready] = smtp_server.to(ACCOUNTANT)
    assert ready["Subject"].startswith("Download das Notas")
    [report] = list(ready.iter_attachments())
    assert report.get_content().startswith(b"%PDF")
    url = re.search(r"(http://127\.0\.0\.1:\d+/exportacoes/\S+)", _body(ready)).group(1)
    archive = zipfile.ZipFile(io.BytesIO(page.request.get(url).body()))
    names = archive.namelist()
    assert any(n.endswith(f"NFe/Autorizadas/{keys['a1']}-procNFe.xml") for n in names)
    assert any(n.endswith(f"NFe/Canceladas/{keys['c3']}-procNFe.xml") for n in names)
    assert not any(keys["x9"] in n for n in names)  # the other company's note is not in it
