"""The panel's lists page by keyset on (issued_at, id), the list index's order: every note once, in order,
ties on the same second broken by id; a forged cursor is the first page; the first page is one query."""

from datetime import UTC, datetime, timedelta

from core.db import db as database
from fiscal import panel, services
from fiscal.synth import key_of, nfe_xml
from tests.fiscal.conftest import BUYER, SELLER
from tests.sql import statements_sent

NOW = datetime.now(UTC).replace(microsecond=0)
LAST_MONTH = (NOW.replace(day=1, hour=12, minute=0, second=0) - timedelta(days=1)).replace(day=10)
MONTH = services.month_of(LAST_MONTH)


def test_pages_cover_every_note_once_in_order(db, fiscal_client, login_as, manager):
    # 23 notes, groups of three sharing the same second
    files = [(f"{n}.xml", nfe_xml(emitter_cnpj=SELLER, emitter_name="Padaria", recipient_doc=BUYER, number=n,
                                  issued_at=LAST_MONTH + timedelta(minutes=n // 3), total_cents=100 * n))
             for n in range(1, 24)]
    services.ingest_files(fiscal_client, files)
    db.session.commit()
    query = panel.documents_query(fiscal_client.id, MONTH, direction=services.Direction.ISSUED)
    seen, cursor, pages = [], None, 0
    while True:
        page = panel.page_of(query, cursor, per_page=5)
        seen += [d.key for d in page["items"]]
        pages += 1
        assert page["first"] == (cursor is not None)
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 5 and len(seen) == 23 == len(set(seen))
    assert set(seen) == {key_of(data) for _name, data in files}
    moments = [panel.get_document(fiscal_client.id, k).issued_at for k in seen]
    assert moments == sorted(moments, reverse=True)
    assert panel.page_of(query, "1.2; DROP", per_page=5)["items"][0].key == seen[0]  # forged: the first page

    with statements_sent(database.engine) as statements:
        panel.page_of(query, None)
    assert len(statements) == 1 and "count(" not in statements[0].lower()

    html = login_as(manager).get(f"/clientes/{fiscal_client.id}/xmls-emitidos?mes={panel.month_label_iso(MONTH)}")
    assert html.status_code == 200 and 'data-testid="next-page"' not in html.get_data(as_text=True)  # 23 < 50
