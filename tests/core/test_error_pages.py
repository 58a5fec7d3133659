"""Error pages say what happened in their <title> and <h1> (issue 9: they were titled "400"/"500")."""

import re


def title_and_h1(html: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()
    return title, h1


def test_not_found(db, client):
    response = client.get("/nada-aqui")
    assert response.status_code == 404
    assert title_and_h1(response.get_data(as_text=True)) == ("Página não encontrada · Revenda",
                                                           "Página não encontrada")


def test_forbidden(db, login_as, manager):
    response = login_as(manager).get("/admin/users/")
    assert response.status_code == 403
    title, h1 = title_and_h1(response.get_data(as_text=True))
    assert title == "Acesso negado · Revenda" and h1 == "Acesso negado"


def test_bad_request_from_a_view(db, client):
    response = client.get("/primeiro-acesso/token-que-nao-existe")
    assert response.status_code == 400
    title, h1 = title_and_h1(response.get_data(as_text=True))
    assert (title, h1) == ("Requisição inválida · Revenda", "Requisição inválida")


def test_expired_form_says_so(db, csrf_client):
    response = csrf_client.post("/login", data={"email": "a@b.example", "password": "x"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert title_and_h1(html) == ("Sessão expirada · Revenda", "Sessão expirada")
    assert "Recarregue a página" in html


def test_unexpected_error(db, client, app, monkeypatch):
    def boom():
        raise RuntimeError("falha de teste")

    monkeypatch.setitem(app.view_functions, "accounts.login", boom)
    response = client.get("/login")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert title_and_h1(html) == ("Erro inesperado · Revenda", "Erro inesperado")
    assert "falha de teste" not in html and "Código do erro: 500" in html
