"""The portal's Notas: the period, the totals block of seed I against a known set of notes, the model icons,
the Emitente/Destinatário filter, the advanced filters (a message next to the field when wrong), keyset pages,
the environments never mixed, and the four actions of seed N."""

import re

from sqlalchemy import select

from core.mail import OutboxEmail


def html(response) -> str:
    return response.get_data(as_text=True)


def total(page: str, name: str) -> str:
    return re.search(rf'data-total="{name}">([^<]*)<', page).group(1).strip()


def keys_in(page: str) -> set[str]:
    return set(re.findall(r'<tr data-key="(\d{44})"', page))


def test_the_totals_block_matches_the_known_notes(world, login_as, accountant):
    http = login_as(accountant)
    page = html(http.get(f"/contador/notas?empresa=c{world.company.id}"))
    assert "Quantidade de Autorizadas:" in page and "Valor Total de Contingências R$" in page
    # authorized: 100,00 + 250,50 + 999,99 (the supplier's note); the cancelled one is not counted twice
    assert (total(page, "authorized-count"), total(page, "authorized-value")) == ("3", "1.350,49")
    assert (total(page, "cancelled-count"), total(page, "cancelled-value")) == ("1", "80,00")
    assert (total(page, "denied-count"), total(page, "denied-value")) == ("1", "40,00")
    assert (total(page, "contingency-count"), total(page, "contingency-value")) == ("1", "12,34")
    keys = world.keys
    assert keys_in(page) == {keys[k] for k in ("a1", "a2", "c3", "d4", "g5", "r6")}
    assert 'data-model="55"' in page and 'data-model="65"' in page and 'data-model="57"' not in page
    assert "<svg" in page and "<rect" in page  # the chart, server-drawn


def test_emitente_destinatario_model_and_last_month(world, login_as, accountant):
    http = login_as(accountant)
    base = f"/contador/notas?empresa=c{world.company.id}"
    issued = html(http.get(base + "&participante=issued"))
    assert (total(issued, "authorized-count"), total(issued, "authorized-value")) == ("2", "350,50")
    received = html(http.get(base + "&participante=received"))
    assert keys_in(received) == {world.keys["r6"]}
    nfce = html(http.get(base + "&modelo=65"))
    assert keys_in(nfce) == {world.keys["g5"]} and total(nfce, "authorized-count") == "0"
    last = html(http.get(base + "&periodo=ultimo-mes"))
    assert keys_in(last) == {world.keys["p8"]} and total(last, "authorized-value") == "70,00"


def test_homologation_on_request_never_mixed(world, login_as, accountant):
    page = html(login_as(accountant).get(f"/contador/notas?empresa=c{world.company.id}&ambiente=2"))
    assert keys_in(page) == {world.keys["h7"]} and total(page, "authorized-value") == "5,00"
    assert 'data-testid="homologation"' in page


def test_advanced_filters(world, login_as, accountant):
    http = login_as(accountant)
    base = f"/contador/notas?empresa=c{world.company.id}"
    assert keys_in(html(http.get(base + "&numero_de=2&numero_ate=3"))) == {world.keys["a2"], world.keys["c3"]}
    assert keys_in(html(http.get(base + "&participante_doc=fornecedor"))) == {world.keys["r6"]}
    assert keys_in(html(http.get(base + "&participante_doc=45.723.174/0001-10"))) == {
        world.keys[k] for k in ("a1", "a2", "c3", "d4", "r6")}
    assert keys_in(html(http.get(base + "&valor_de=100,00&valor_ate=1.000"))) == {
        world.keys["a1"], world.keys["a2"], world.keys["r6"]}
    assert keys_in(html(http.get(base + "&situacao=denied"))) == {world.keys["d4"]}
    assert keys_in(html(http.get(base + "&chave=" + world.keys["a1"]))) == {world.keys["a1"]}


def test_bad_filter_input_is_a_message_next_to_the_field(world, login_as, accountant):
    http = login_as(accountant)
    base = f"/contador/notas?empresa=c{world.company.id}"
    for query, name in (("&numero_de=abc", "numero_de"), ("&valor_de=dez", "valor_de"), ("&chave=123", "chave"),
                        ("&periodo=customizado&de=2026-02-31&ate=x", "de"), ("&situacao=paga", "situacao"),
                        ("&numero_de=5&numero_ate=1", "numero_ate"), ("&modelo=99", "modelo"),
                        ("&apos=%%%", None)):
        response = http.get(base + query)
        assert response.status_code == (422 if name else 200), query
        if name:
            assert f'data-field-error="{name}"' in html(response), query


def test_keyset_pages(world, login_as, accountant, monkeypatch):
    from portal import services

    monkeypatch.setattr(services, "PER_PAGE", 4)
    http = login_as(accountant)
    first = html(http.get(f"/contador/notas?empresa=c{world.company.id}"))
    cursor = re.search(r'href="([^"]*apos=[^"]*)" data-testid="next-page"', first).group(1).replace("&amp;", "&")
    second = html(http.get(cursor))
    assert len(keys_in(first)) == 4 and len(keys_in(second)) == 2 and not keys_in(first) & keys_in(second)
    assert 'data-testid="next-page"' not in second


def test_the_four_actions(world, login_as, accountant, db):
    http = login_as(accountant)
    base = f"/contador/empresas/{world.company.id}/notas/{world.keys['a1']}"
    xml = http.get(base + "/xml")
    assert xml.status_code == 200 and world.keys["a1"].encode() in xml.data
    view = http.get(base)
    assert view.status_code == 200 and "Padaria Pao Quente Ltda" in html(view)
    danfe = http.get(base + "/danfe")
    assert danfe.status_code == 200 and danfe.data.startswith(b"%PDF")
    bad = http.post(base + "/enviar", data={"email": "não é e-mail"})
    assert bad.status_code == 422 and 'data-field-error="email"' in html(bad)
    sent = http.post(base + "/enviar", data={"email": "arquivo@contabil.example"})
    assert sent.status_code == 303
    message = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to == "arquivo@contabil.example"))
    assert "/xml/" in message.body_text


def test_another_company_is_404_and_shows_nothing(world, login_as, accountant):
    http = login_as(accountant)
    page = html(http.get(f"/contador/notas?empresa=c{world.other.id}"))
    assert world.keys["x9"] not in page and 'data-testid="choose-company"' in page
    assert http.get(f"/contador/empresas/{world.other.id}/notas/{world.keys['x9']}").status_code == 404
    # a key of another company under one's own company's URL
    assert http.get(f"/contador/empresas/{world.company.id}/notas/{world.keys['x9']}").status_code == 404
