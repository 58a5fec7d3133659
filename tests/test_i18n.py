"""pt-BR is the default; English is selectable (POST /idioma/en) and covers pages and messages."""

from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.extensions import babel

CATALOG = Path(__file__).resolve().parent.parent / "translations" / "en" / "LC_MESSAGES"


@pytest.fixture(scope="module", autouse=True)
def english_catalog(app):
    """Compile the English catalog when ``make`` has not (``.mo`` files are git-ignored)."""
    po, mo = CATALOG / "messages.po", CATALOG / "messages.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalog)
        with app.app_context():
            babel.domain_instance.cache.clear()  # an earlier request may have cached an empty catalog


def test_portuguese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Entrar no painel" in page
    assert 'lang="pt-BR"' in page


def test_switching_to_english_translates_the_login_page(client):
    response = client.post("/idioma/en", data={"next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in to the panel" in page
    assert "Forgot your password?" in page
    assert "Entrar no painel" not in page

    wrong = client.post("/login", data={"email": "ninguem@example.com", "password": "x"})
    assert wrong.status_code == 401
    assert "Incorrect e-mail or password." in wrong.get_data(as_text=True)


def test_validation_messages_follow_the_language(login_as, manager, plan):
    client = login_as(manager)
    client.post("/idioma/en")
    response = client.post("/clientes/novo", data={
        "payer": "client", "software_id": plan.software_id, "plan_id": plan.id, "legal_name": "Empresa X",
        "cnpj": "11.222.333/0001-00", "email": "x@empresa.example", "cep": "01310100", "street": "Rua A",
        "number": "1", "district": "Centro", "city": "São Paulo", "state": "SP",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Invalid CNPJ: check the check digits." in page
    assert "Check the highlighted fields. Nothing was saved." in page


def test_switching_back_to_portuguese(client):
    client.post("/idioma/en")
    client.post("/idioma/pt_BR")
    assert "Entrar no painel" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/idioma/xx")
    assert "Entrar no painel" in client.get("/login").get_data(as_text=True)
