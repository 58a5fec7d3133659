"""Access table for every fiscal panel route: (who, method, url) → status. Tables: tests/fiscal/access_routes.py."""

import pytest

from core.db import utcnow
from fiscal import exports, panel, services
from fiscal.synth import key_of, nfe_xml
from tests.fiscal.access_routes import PANEL

USERS = {"manager": "manager", "other_manager": "other_manager", "accountant": "accountant", "client": "client_user",
         "admin": "admin_user", "finance": "finance_user"}


def _cases(table):
    for method, url, expected in table:
        for who, status in expected.items():
            yield pytest.param(who, method, url, status, id=f"{who}-{method}-{url}")


def _seed(row):
    xml = nfe_xml(emitter_cnpj=row.cnpj, emitter_name=row.legal_name[:60], recipient_doc="45723174000110",
                  recipient_name="Mercado Árvore", number=1, issued_at=utcnow(), total_cents=1000)
    services.ingest_file(row, "1.xml", xml)
    export = exports.request_export(row, month=services.month_of(utcnow()))
    job = panel.start_import(row, "1.xml", xml, None)
    return key_of(xml), export.id, job.id


@pytest.fixture
def world(db, manager, client_row, other_client, accountant, client_user, admin_user, finance_user, other_manager):
    key, export_id, import_id = _seed(client_row)
    other_key, other_export_id, other_import_id = _seed(other_client)
    db.session.commit()
    return {"cid": client_row.id, "other_cid": other_client.id, "key": key, "other_key": other_key,
            "export_id": export_id, "other_export_id": other_export_id, "import_id": import_id,
            "other_import_id": other_import_id}


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(PANEL)))
def test_panel_routes(who, method, url, status, world, client, login_as, request):
    http = login_as(request.getfixturevalue(USERS[who])) if who != "anonymous" else client
    response = http.open(url.format(**world), method=method)
    assert response.status_code == status
    if status == 302 and who == "anonymous":
        assert "/login" in response.headers["Location"]
