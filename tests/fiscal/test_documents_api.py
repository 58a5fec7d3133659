"""Partner API: documents list (filters, stable cursor), one document, XML, PDF, month totals;
another partner's client or another client's key is a 404; bad filters are 422."""

from datetime import UTC, datetime, timedelta

import pytest

from fiscal import services
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from tests.factories import ClientFactory
from tests.fiscal.conftest import BUYER, SELLER

NOW = datetime.now(UTC).replace(microsecond=0)
ISSUED = NOW - timedelta(hours=5)
MONTH = f"{services.month_of(ISSUED) // 100}-{services.month_of(ISSUED) % 100:02d}"


def note(**overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria Pão Quente", recipient_doc=BUYER,
                  recipient_name="Mercado Árvore", number=1, issued_at=ISSUED, total_cents=10000)
    values.update(overrides)
    return nfe_xml(**values)


@pytest.fixture
def loaded(db, fiscal_client):
    for number in range(1, 6):
        services.ingest_file(fiscal_client, f"{number}.xml", note(number=number, total_cents=number * 1000))
    services.ingest_file(fiscal_client, "f.xml", note(number=9, emitter_cnpj=BUYER, recipient_doc=SELLER,
                                                      emitter_name="Fornecedor Ótica", model=55))
    services.ingest_file(fiscal_client, "c.xml", cancellation_xml(key_of(note(number=2)), NOW))
    services.ingest_file(fiscal_client, "h.xml", note(number=1, environment=2))
    db.session.commit()
    return fiscal_client


def test_the_list_pages_with_a_stable_cursor(client, loaded, partner_headers):
    url = f"/api/v1/clients/{loaded.id}/documents?limit=2"
    seen, cursor = [], None
    for _ in range(5):
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=partner_headers)
        assert response.status_code == 200
        body = response.get_json()
        seen += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5, 9]  # production only, in arrival order, each once


def test_filters_and_the_document_shape(client, loaded, partner_headers):
    base = f"/api/v1/clients/{loaded.id}/documents"
    received = client.get(base + "?direction=received", headers=partner_headers).get_json()["items"]
    assert [(d["number"], d["direction"], d["role"]) for d in received] == [(9, "received", "destinatario")]
    cancelled = client.get(base + "?status=cancelled&month=" + MONTH, headers=partner_headers).get_json()["items"]
    [doc] = cancelled
    assert doc["number"] == 2 and doc["status"] == "cancelled" and doc["total_cents"] == 2000
    assert doc["emitter"] == {"doc": SELLER, "name": "Padaria Pão Quente"}
    assert [(e["type"], e["status"]) for e in doc["events"]] == [("110111", 135)]
    assert [d["number"] for d in client.get(base + "?q=FORNECEDOR", headers=partner_headers).get_json()["items"]] == [9]
    homolog = client.get(base + "?environment=homologation", headers=partner_headers).get_json()["items"]
    assert [(d["number"], d["environment"]) for d in homolog] == [(1, "homologation")]


def test_totals_of_a_month(client, loaded, partner_headers):
    response = client.get(f"/api/v1/clients/{loaded.id}/documents/totals?month={MONTH}", headers=partner_headers)
    assert response.get_json() == {"authorized": {"count": 5, "total_cents": 1000 + 3000 + 4000 + 5000 + 10000},
                                   "cancelled": {"count": 1, "total_cents": 2000},
                                   "denied": {"count": 0, "total_cents": 0},
                                   "contingency": {"count": 0, "total_cents": 0}}


def test_one_document_its_xml_and_its_pdf(client, loaded, partner_headers):
    key = key_of(note(number=2))
    base = f"/api/v1/clients/{loaded.id}/documents/{key}"
    assert client.get(base, headers=partner_headers).get_json()["status"] == "cancelled"
    xml = client.get(base + "/xml", headers=partner_headers)
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and xml.data == note(number=2, total_cents=2000)
    pdf = client.get(base + "/pdf", headers=partner_headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    again = client.get(base + "/pdf", headers=partner_headers)  # the cached copy
    assert again.data == pdf.data


@pytest.mark.parametrize("query", ["month=2026-13", "month=1e400", "model=58", "direction=sideways",
                                   "status=lost", "environment=mars", "cursor=ZDp4", "limit=-1",
                                   "limit=99999999999999999999"])
def test_bad_filters_are_422(client, loaded, partner_headers, query):
    response = client.get(f"/api/v1/clients/{loaded.id}/documents?{query}", headers=partner_headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["message"]


def test_a_nul_byte_in_a_filter_is_refused(client, loaded, partner_headers):
    response = client.get(f"/api/v1/clients/{loaded.id}/documents?cursor=%00%00", headers=partner_headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_text"


def test_totals_need_a_month(client, loaded, partner_headers):
    response = client.get(f"/api/v1/clients/{loaded.id}/documents/totals", headers=partner_headers)
    assert response.status_code == 422 and "month" in response.get_json()["error"]["fields"]


def test_other_partners_and_other_clients_are_404(client, db, loaded, partner_headers, other_partner, plan):
    stranger = ClientFactory(partner=other_partner, plan=plan, cnpj=SELLER)
    services.ingest_file(stranger, "s.xml", note(number=77))
    sibling = ClientFactory(partner=loaded.partner, plan=plan)
    db.session.commit()
    key = key_of(note(number=77))
    for url in (f"/api/v1/clients/{stranger.id}/documents", f"/api/v1/clients/{stranger.id}/documents/{key}",
                f"/api/v1/clients/{stranger.id}/documents/{key}/xml",
                f"/api/v1/clients/{sibling.id}/documents/{key_of(note(number=1))}",
                f"/api/v1/clients/{loaded.id}/documents/{'9' * 44}", f"/api/v1/clients/{loaded.id}/documents/abc"):
        assert client.get(url, headers=partner_headers).status_code == 404, url
    assert client.get(f"/api/v1/clients/{loaded.id}/documents").status_code == 401
