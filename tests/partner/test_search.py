"""Accent- and case-insensitive search, pt-BR order and numbered pagination of the dashboard (and the
partner API's ``q``), on SQLite and PostgreSQL alike."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from core.text import fold
from partner import services
from partner.models import Client
from tests.factories import ClientFactory
from tests.partner.conftest import row_ids


def html_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def named(db, partner, plan):
    def make(legal_name, **kw):
        return ClientFactory(partner=partner, plan=plan, legal_name=legal_name, trade_name=kw.pop("trade_name", ""),
                             **kw)

    return make


def test_fold_strips_accents_case_and_extra_spaces():
    assert fold("  Pão   ÁRVORE  Açúcar ") == "pao arvore acucar"
    assert fold("ÓTICA Zé") == "otica ze"
    assert fold(None) == ""


@pytest.mark.parametrize("typed", ["pao", "PAO", "Pão", "pão quente", "Pão Árvore Açúcar", "arvore acucar",
                                   "ÁRVORE", "  pão   árvore "])
def test_search_ignores_accents_and_case(db, login_as, manager, named, typed):
    wanted = named("Padaria Pão Árvore Açúcar Ltda", trade_name="Pão Quente")
    named("Mercado Central Ltda")
    assert row_ids(html_of(login_as(manager).get("/painel", query_string={"q": typed}))) == [wanted.id]


def test_search_covers_trade_name_cnpj_with_or_without_punctuation_and_email(db, login_as, manager, named):
    row = named("Comércio Ltda", trade_name="Empório São João", cnpj="11222333000181", email="Contato@Emporio.example")
    named("Outro Ltda")
    http = login_as(manager)
    for typed in ("sao joao", "11.222.333/0001-81", "11222333", "contato@emporio", "EMPORIO.EXAMPLE"):
        assert row_ids(html_of(http.get("/painel", query_string={"q": typed}))) == [row.id], typed


def test_a_typed_percent_or_underscore_is_a_character_not_a_wildcard(db, login_as, manager, named):
    named("Cem Por Cento Ltda")
    literal = named("100% Natural Ltda")
    http = login_as(manager)
    assert row_ids(html_of(http.get("/painel", query_string={"q": "%"}))) == [literal.id]
    assert row_ids(html_of(http.get("/painel", query_string={"q": "_"}))) == []


def test_a_search_does_not_run_across_two_fields(db, login_as, manager, named):
    named("Alfa Ltda", trade_name="Beta")
    assert row_ids(html_of(login_as(manager).get("/painel", query_string={"q": "ltda beta"}))) == []


def test_renaming_refreshes_the_search_and_the_order(db, login_as, manager, named):
    row = named("Zebra Ltda")
    db.session.flush()
    row.legal_name = "Ágata Ltda"
    db.session.flush()
    stored = db.session.execute(select(Client.search_text, Client.sort_name).where(Client.id == row.id)).one()
    assert stored.sort_name == "agata ltda" and stored.search_text.startswith("agata ltda\n")
    assert row_ids(html_of(login_as(manager).get("/painel?q=agata"))) == [row.id]


def test_names_sort_as_people_read_them(db, login_as, manager, named):
    for name in ("Zé Lanches", "Ótica Visão", "abacaxi Frutas", "Árvore Verde", "Bar do Édson", "ótica Alfa"):
        named(name)
    http = login_as(manager)
    names = [c.legal_name for c in db.session.scalars(select(Client))]
    order = {c.id: c.legal_name for c in db.session.scalars(select(Client))}
    shown = [order[i] for i in row_ids(html_of(http.get("/painel")))]
    assert shown == ["abacaxi Frutas", "Árvore Verde", "Bar do Édson", "ótica Alfa", "Ótica Visão", "Zé Lanches"]
    descending = [order[i] for i in row_ids(html_of(http.get("/painel?sort=-name")))]
    assert descending == list(reversed(shown)) and len(names) == 6


def test_numbered_pagination_keeps_the_filters(db, login_as, manager, partner, plan, app, monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_PER_PAGE", 2)
    ClientFactory.create_batch(20, partner=partner, plan=plan, trade_name="Padaria Pão")
    ClientFactory.create_batch(3, partner=partner, plan=plan, trade_name="Outra")
    html = html_of(login_as(manager).get("/painel?q=padaria+pao&status=active&page=5"))
    nav = re.search(r'data-testid="pagination">(.*?)</nav>', html, re.S).group(1)
    labels = re.findall(r'class="page-link"[^>]*>([^<]+)<', nav)
    assert labels == ["Anterior", "1", "2", "3", "4", "5", "6", "7", "…", "10", "Próxima"]
    assert 'aria-current="page"><span class="page-link">5<' in nav
    for href in re.findall(r'href="([^"]+)"', nav):
        query = parse_qs(urlparse(href.replace("&amp;", "&")).query)
        assert query["q"] == ["padaria pao"] and query["status"] == ["active"]


@pytest.mark.parametrize(("page", "pages", "expected"), [
    (1, 1, [1]),
    (1, 5, [1, 2, 3, 4, 5]),
    (1, 10, [1, 2, 3, None, 10]),
    (10, 10, [1, None, 8, 9, 10]),
    (4, 10, [1, 2, 3, 4, 5, 6, None, 10]),
    (6, 20, [1, None, 4, 5, 6, 7, 8, None, 20]),
    (5, 9, [1, 2, 3, 4, 5, 6, 7, 8, 9]),  # one number left out is shown, not replaced by "…"
])
def test_page_numbers(page, pages, expected):
    assert services.Page(items=[], total=pages * 10, page=page, per_page=10).numbers() == expected
