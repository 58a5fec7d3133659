"""The accountant API: a token per accountant (shown once, stored hashed), its accepted companies only
(404 for any other, removal effective at once), documents across companies with a stable cursor, XML/PDF,
totals, exports; and its access table (tests/webhooks/access_routes.py ACCOUNTANT_API)."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fiscal import exports, services
from fiscal.synth import key_of, nfe_xml
from partner.models import ApiToken, LinkStatus
from partner.services import create_accountant_token, create_api_token
from tests.factories import ClientFactory, link_accountant
from tests.webhooks.access_routes import ACCOUNTANT_API

NOW = datetime.now(UTC).replace(microsecond=0)
ISSUED = NOW - timedelta(hours=5)
MONTH = services.month_of(ISSUED)
MONTH_TEXT = f"{MONTH // 100}-{MONTH % 100:02d}"
BUYER = "45723174000110"


def _notes(row, count, start=1):
    keys = []
    for number in range(start, start + count):
        xml = nfe_xml(emitter_cnpj=row.cnpj, emitter_name=row.legal_name[:60], recipient_doc=BUYER,
                      recipient_name="Mercado Árvore", number=number, issued_at=ISSUED, total_cents=number * 1000)
        services.ingest_file(row, f"{number}.xml", xml)
        keys.append(key_of(xml))
    return keys


@pytest.fixture
def world(db, partner, plan, accountant, other_client):
    mine = ClientFactory(partner=partner, plan=plan, legal_name="Alfa Padaria Ltda")
    second = ClientFactory(partner=partner, plan=plan, legal_name="Beta Mercado Ltda")
    pending = ClientFactory(partner=partner, plan=plan, legal_name="Gama Pendente Ltda")
    link_accountant(mine, accountant)
    link_accountant(second, accountant)
    link_accountant(pending, accountant, status=LinkStatus.PENDING)
    keys = _notes(mine, 3)
    second_keys = _notes(second, 2, start=10)
    other_keys = _notes(other_client, 1)
    _notes(pending, 1)
    export = exports.request_export(mine, month=MONTH)
    other_export = exports.request_export(other_client, month=MONTH)
    token, plaintext = create_accountant_token(accountant, "ERP contábil")
    db.session.commit()
    return {"cid": mine.id, "second_cid": second.id, "pending_cid": pending.id, "other_cid": other_client.id,
            "key": keys[0], "keys": keys, "second_keys": second_keys, "other_key": other_keys[0],
            "export_id": export.id, "other_export_id": other_export.id, "month": MONTH_TEXT,
            "token": token, "headers": {"Authorization": f"Bearer {plaintext}"}, "plaintext": plaintext}


def test_the_token_is_stored_hashed_and_is_no_partner_token(db, client, world, partner):
    token = world["token"]
    assert token.token_hash == hashlib.sha256(world["plaintext"].encode()).hexdigest()
    assert world["plaintext"].startswith("rvc_") and token.partner_id is None
    assert client.get("/api/v1/clients", headers=world["headers"]).status_code == 401  # not a partner token
    _t, partner_plain = create_api_token(partner, "ERP")
    db.session.commit()
    assert client.get("/api/v1/accountant/companies",
                      headers={"Authorization": f"Bearer {partner_plain}"}).status_code == 401


def test_companies_are_the_accepted_ones(client, world):
    items = client.get("/api/v1/accountant/companies", headers=world["headers"]).get_json()["items"]
    assert [c["id"] for c in items] == [world["cid"], world["second_cid"]]


def test_documents_across_companies_with_a_restartable_cursor(client, world):
    url = "/api/v1/accountant/documents?limit=2"
    seen, cursors, cursor = [], [], None
    while True:
        body = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=world["headers"]).get_json()
        seen += [(d["company_id"], d["key"]) for d in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
        cursors.append(cursor)
    expected = {(world["cid"], k) for k in world["keys"]} | {(world["second_cid"], k) for k in world["second_keys"]}
    assert len(seen) == len(expected) and set(seen) == expected  # each once, nothing of other companies
    again = client.get(url + f"&cursor={cursors[0]}", headers=world["headers"]).get_json()
    assert [(d["company_id"], d["key"]) for d in again["items"]] == seen[2:4]  # restart from any point

    one = client.get(f"/api/v1/accountant/documents?company={world['second_cid']}", headers=world["headers"])
    assert {d["key"] for d in one.get_json()["items"]} == set(world["second_keys"])
    assert client.get("/api/v1/accountant/documents?month=2026-13", headers=world["headers"]).status_code == 422
    assert client.get("/api/v1/accountant/documents?cursor=%%%", headers=world["headers"]).status_code == 422


def test_xml_pdf_and_totals(client, world):
    headers, cid, key = world["headers"], world["cid"], world["key"]
    xml = client.get(f"/api/v1/accountant/documents/{key}/xml?company={cid}", headers=headers)
    assert xml.status_code == 200 and key.encode() in xml.data
    pdf = client.get(f"/api/v1/accountant/documents/{key}/pdf?company={cid}", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    totals = client.get(f"/api/v1/accountant/documents/totals?company={cid}&month={MONTH_TEXT}", headers=headers)
    assert totals.get_json()["authorized"] == {"count": 3, "total_cents": 6000}
    missing = client.get(f"/api/v1/accountant/documents/totals?month={MONTH_TEXT}", headers=headers)
    assert missing.status_code == 422 and "company" in missing.get_json()["error"]["fields"]


def test_exports_of_an_accepted_company(client, world):
    response = client.post("/api/v1/accountant/exports", headers=world["headers"],
                           json={"company": world["cid"], "month": MONTH_TEXT})
    assert response.status_code == 202
    export_id = response.get_json()["id"]
    assert client.get(f"/api/v1/accountant/exports/{export_id}", headers=world["headers"]).status_code == 200
    refused = client.post("/api/v1/accountant/exports", headers=world["headers"],
                          json={"company": world["other_cid"], "month": MONTH_TEXT})
    assert refused.status_code == 404
    bad = client.post("/api/v1/accountant/exports", headers=world["headers"],
                      json={"company": world["cid"], "month": "ontem"})
    assert bad.status_code == 422 and "month" in bad.get_json()["error"]["fields"]


def test_removal_takes_effect_at_once(db, client, world, accountant):
    from partner.models import AccountantLink

    link = db.session.scalar(select(AccountantLink).where(AccountantLink.client_id == world["cid"],
                                                          AccountantLink.user_id == accountant.id))
    link.status = LinkStatus.REMOVED
    db.session.commit()
    headers, cid, key = world["headers"], world["cid"], world["key"]
    assert client.get(f"/api/v1/accountant/documents/{key}/xml?company={cid}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/accountant/exports/{world['export_id']}", headers=headers).status_code == 404
    items = client.get("/api/v1/accountant/documents", headers=headers).get_json()["items"]
    assert {d["company_id"] for d in items} == {world["second_cid"]}


def test_a_revoked_token_stops_working(db, client, world):
    world["token"].revoked_at = NOW
    db.session.commit()
    assert client.get("/api/v1/accountant/companies", headers=world["headers"]).status_code == 401


def test_the_token_is_created_in_the_portal_and_shown_once(db, client, login_as, accountant):
    page = login_as(accountant).post("/contador/api/tokens", data={"name": "Domínio"})
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == accountant.id))
    shown = html.split('id="new-token" value="')[1].split('"')[0]
    assert shown.startswith("rvc_") and token.token_hash == hashlib.sha256(shown.encode()).hexdigest()
    assert shown not in client.get("/contador/webhooks").get_data(as_text=True)
    empty = client.post("/contador/api/tokens", data={"name": ""})
    assert empty.status_code == 422 and 'data-field-error="name"' in empty.get_data(as_text=True)


def test_the_openapi_document_has_the_accountant_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert "accountantToken" in document["components"]["securitySchemes"]
    for path in ("/api/v1/accountant/companies", "/api/v1/accountant/documents", "/api/v1/accountant/documents/totals",
                 "/api/v1/accountant/documents/{key}/xml", "/api/v1/accountant/documents/{key}/pdf",
                 "/api/v1/accountant/exports"):
        assert path in document["paths"], path


USERS = {"manager": "manager", "other_manager": "other_manager", "accountant": "accountant", "client": "client_user",
         "admin": "admin_user", "finance": "finance_user"}


def _cases():
    for method, url, expected in ACCOUNTANT_API:
        for who, status in expected.items():
            yield pytest.param(who, method, url, status, id=f"{who}-{method}-{url}")


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases()))
def test_access(who, method, url, status, world, client, login_as, request, db):
    headers = {}
    if who == "accountant":
        headers = world["headers"]
    elif who in ("manager", "other_manager"):
        _t, plaintext = create_api_token(request.getfixturevalue(USERS[who]).partner, "Matriz")
        db.session.commit()
        headers = {"Authorization": f"Bearer {plaintext}"}
    elif who != "anonymous":
        login_as(request.getfixturevalue(USERS[who]))  # a panel login is no API credential
    response = client.open(url.format(**world), method=method, headers=headers,
                           json={} if method == "POST" else None)
    assert response.status_code == status, response.get_data(as_text=True)[:300]


def test_totals_of_a_period_of_brasilia_days(client, world):
    """``from``/``to`` (Brasília days, inclusive) or ``month``: the same day totals the portal reads."""
    headers, cid = world["headers"], world["cid"]
    day = services.day_of(ISSUED)
    day_text = f"{day // 10000}-{day // 100 % 100:02d}-{day % 100:02d}"
    url = f"/api/v1/accountant/documents/totals?company={cid}"
    month = client.get(f"{url}&month={MONTH_TEXT}", headers=headers).get_json()
    one_day = client.get(f"{url}&from={day_text}&to={day_text}", headers=headers)
    assert one_day.status_code == 200 and one_day.get_json() == month
    assert month["authorized"] == {"count": 3, "total_cents": 6000}
    following = (datetime.strptime(day_text, "%Y-%m-%d") + timedelta(days=1)).date().isoformat()
    assert client.get(f"{url}&from={following}&to={following}", headers=headers).get_json()["authorized"] == {
        "count": 0, "total_cents": 0}
    assert client.get(f"{url}&from={day_text}&to={day_text}&environment=homologation",
                      headers=headers).get_json()["authorized"]["count"] == 0
    assert client.get(f"{url}&from={day_text}&to={day_text}&direction=received",
                      headers=headers).get_json()["authorized"]["count"] == 0
    second = client.get(f"/api/v1/accountant/documents/totals?company={world['second_cid']}&from={day_text}"
                        f"&to={day_text}", headers=headers).get_json()
    assert second["authorized"] == {"count": 2, "total_cents": 21000}  # numbers 10 and 11
    for query, field in ((f"&from={day_text}", "to"), ("&from=2026-02-31&to=2026-03-01", "from"),
                         ("&from=2026-03-02&to=2026-03-01", "to"), ("&from=2025-01-01&to=2026-01-02", "to"),
                         (f"&month={MONTH_TEXT}&from={day_text}&to={day_text}", "month"), ("&month=0000-01", "month"),
                         ("&from=01/03/2026&to=2026-03-01", "from")):
        response = client.get(url + query, headers=headers)
        assert response.status_code == 422, query
        assert field in response.get_json()["error"]["fields"], query
    other = client.get(f"/api/v1/accountant/documents/totals?company={world['other_cid']}&from={day_text}"
                       f"&to={day_text}", headers=headers)
    assert other.status_code == 404
