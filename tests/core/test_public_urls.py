"""Every link in an e-mail is on PUBLIC_URL, whatever Host header the request came with (reset poisoning)."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.mail import OutboxEmail
from core.urls import public_url
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent.parent
PUBLIC = "https://painel.example.com"
ATTACKER = "http://attacker.example"


@pytest.fixture
def public(app):
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = PUBLIC + "/"
    yield PUBLIC
    app.config["PUBLIC_URL"] = saved


def _bodies(db, to):
    return [m.body_text for m in db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == to))]


def _links(text):
    return re.findall(r"https?://[^\s\"'<>]+", text)


def test_reset_asked_through_a_forged_host_mails_a_link_on_the_public_url(db, client, public, partner):
    victim = UserFactory(partner=partner)
    db.session.commit()
    response = client.post("/esqueci-senha", data={"email": victim.email}, base_url=ATTACKER)
    assert response.status_code == 302
    [body] = _bodies(db, victim.email)
    [link] = _links(body)
    assert link.startswith(PUBLIC + "/redefinir-senha/")
    assert "attacker" not in body
    assert client.get(link.removeprefix(PUBLIC)).status_code == 200  # and it is a working link


def test_panel_mails_and_share_texts_ignore_the_host(db, client, public, manager, plan):
    http = client
    forged = {"base_url": ATTACKER}
    http.post("/login", data={"email": manager.email, "password": PASSWORD}, **forged)
    form = {"payer": "client", "software_id": plan.software_id, "plan_id": plan.id, "legal_name": "Host Falso Ltda",
            "cnpj": "11.222.333/0001-81", "email": "dono@hostfalso.example", "cep": "01310-100",
            "street": "Av. Paulista", "number": "900", "district": "Bela Vista", "city": "São Paulo", "state": "SP"}
    assert http.post("/clientes/novo", data=form, **forged).status_code == 302
    bodies = _bodies(db, "dono@hostfalso.example")
    assert len(bodies) == 1  # one e-mail in the partner's name: contract acceptance and first access
    links = [link for body in bodies for link in _links(body)]
    assert {link.split("/")[3] for link in links} == {"primeiro-acesso", "aceite"}
    assert all(link.startswith(PUBLIC + "/") for link in links)

    response = http.post("/links-de-contratacao", **forged, data={
        "plan_id": plan.id, "payer": "client", "client_email": "novo@hostfalso.example", "send_email": "1"})
    assert response.status_code == 302
    [body] = _bodies(db, "novo@hostfalso.example")
    assert [link[: len(PUBLIC) + 11] for link in _links(body)] == [PUBLIC + "/contratar/"]
    page = http.get(response.headers["Location"], **forged).get_data(as_text=True)
    assert PUBLIC + "/contratar/" in page and "attacker.example/contratar" not in page


def test_public_url_keeps_a_path_prefix(app, public):
    app.config["PUBLIC_URL"] = "https://example.com/revenda/"
    with app.test_request_context(base_url=ATTACKER):
        assert public_url("accounts.login") == "https://example.com/revenda/login"


def test_no_link_is_built_from_the_request_outside_core_urls():
    """A guard for the next e-mail: absolute URLs only through core.urls.public_url."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "migrations", "bench"} or rel.as_posix() == "core/urls.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("_external=True", "url_root", "host_url", "request.host", "force_external"):
            if needle in text:
                offenders.append(f"{rel}: {needle}")
    assert offenders == []
