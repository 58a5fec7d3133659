"""The dashboard in real Chromium: accent- and case-insensitive search, the certificate column and
filter, numbered pagination that keeps the filters."""

import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "certificates"))
from certhelpers import store_certificate  # noqa: E402  (tests/certificates/certhelpers.py)

from core.db import db, utcnow  # noqa: E402
from partner.models import Client  # noqa: E402

pytestmark = pytest.mark.browser


def rows(page):
    return page.get_by_test_id("clients-table").locator("tbody tr[data-client-id]")


def search(page, text):
    page.fill("[name=q]", text)
    page.get_by_role("button", name="Filtrar").click()
    page.wait_for_load_state()


def test_search_finds_pao_quente_however_it_is_typed(login):
    page = login("manager")
    for typed in ("pao quente", "PÃO QUENTE", "Padaria Pão", "paO"):
        search(page, typed)
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text("Padaria Pão Quente Ltda")
        expect(page.locator("[name=q]")).to_have_value(typed)


def test_certificate_column_and_filter(login, live_app):
    with live_app.app_context():
        mercado = db.session.scalar(select(Client).where(Client.legal_name == "Mercado Bom Preço Ltda"))
        now = utcnow()
        store_certificate(mercado, not_before=now - timedelta(days=300), not_after=now + timedelta(days=9, hours=2))
        db.session.commit()
        db.session.remove()

    page = login("manager")
    row = rows(page).filter(has_text="Mercado Bom Preço Ltda")
    expect(row.locator("[data-column=certificate]")).to_have_text("expira em 10 dias")
    expect(rows(page).filter(has_text="Farmácia Saúde Já Ltda").locator("[data-column=certificate]")).to_have_text(
        "sem certificado")

    page.get_by_test_id("filter-certificado").select_option(label="Certificado expira em até 30 dias")
    page.get_by_role("button", name="Filtrar").click()
    page.wait_for_url(re.compile(r"certificado=expiring"))
    expect(rows(page).filter(has_text="Mercado Bom Preço Ltda")).to_have_count(1)
    expect(rows(page).filter(has_text="Farmácia Saúde Já Ltda")).to_have_count(0)
    expect(page.get_by_test_id("filter-certificado")).to_have_value("expiring")

    page.get_by_test_id("filter-certificado").select_option(label="Sem certificado")
    page.get_by_role("button", name="Filtrar").click()
    page.wait_for_url(re.compile(r"certificado=none"))
    expect(rows(page).filter(has_text="Farmácia Saúde Já Ltda")).to_have_count(1)
    expect(rows(page).filter(has_text="Mercado Bom Preço Ltda")).to_have_count(0)


def test_numbered_pagination_keeps_the_search(login, live_app, live_server):
    live_app.config["DASHBOARD_PER_PAGE"] = 1
    try:
        page = login("manager")
        search(page, "ltda")
        nav = page.get_by_test_id("pagination")
        expect(nav.get_by_role("link", name="Página 2", exact=True)).to_be_visible()
        nav.get_by_role("link", name="Página 2", exact=True).click()
        page.wait_for_url(re.compile(r"page=2"))
        assert "q=ltda" in page.url
        expect(nav.locator("[aria-current=page]")).to_have_text("2")
        expect(rows(page)).to_have_count(1)
        expect(page.locator("[name=q]")).to_have_value("ltda")
    finally:
        live_app.config["DASHBOARD_PER_PAGE"] = 25
