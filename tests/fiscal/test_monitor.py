"""The contingency monitor: age and deadline (default, per state, per client), one e-mail per partner
and kind at half the deadline and when overdue, each note alerted once, resolved by the authorized note."""

from datetime import UTC, datetime, timedelta

from fiscal import monitor, services
from fiscal.models import FiscalSettings
from fiscal.synth import nfe_xml
from tests.fiscal.conftest import SELLER

NOW = datetime.now(UTC).replace(microsecond=0)


def offline(number, hours_ago, **kw):
    return nfe_xml(emitter_cnpj=SELLER, emitter_name="Padaria", recipient_doc=None, number=number, model=65,
                   tp_emis=9, total_cents=1500, protocol_cstat=kw.pop("protocol_cstat", None), issued_at=NOW - timedelta(hours=hours_ago),
                   **kw)


def test_age_deadline_and_state(db, fiscal_client):
    services.ingest_file(fiscal_client, "a", offline(1, 2))
    services.ingest_file(fiscal_client, "b", offline(2, 13))
    services.ingest_file(fiscal_client, "c", offline(3, 30))
    notes = monitor.pending_notes([fiscal_client.id], now=NOW)
    assert [(n.document.number, n.state) for n in notes] == [(3, "overdue"), (2, "half"), (1, "ok")]
    assert notes[0].deadline == NOW - timedelta(hours=30) + timedelta(hours=24)


def test_deadline_by_state_and_by_client(app, db, fiscal_client):
    services.ingest_file(fiscal_client, "b", offline(2, 13))  # key starts with 35: SP
    app.config["FISCAL_CONTINGENCY_HOURS_BY_STATE"] = "SP:48, MG:72"
    try:
        assert monitor.pending_notes([fiscal_client.id], now=NOW)[0].state == "ok"
        db.session.add(FiscalSettings(client_id=fiscal_client.id, contingency_deadline_hours=20))
        assert monitor.pending_notes([fiscal_client.id], now=NOW)[0].state == "half"
    finally:
        app.config["FISCAL_CONTINGENCY_HOURS_BY_STATE"] = ""


def test_one_e_mail_per_kind_once_and_resolved_by_the_authorized_note(db, fiscal_client, manager, inbox, deliver_mail):
    services.ingest_file(fiscal_client, "b", offline(2, 13))
    services.ingest_file(fiscal_client, "c", offline(3, 30))
    services.ingest_file(fiscal_client, "ok", offline(4, 1))
    assert monitor.send_alerts(now=NOW) == 2  # half and overdue, to the one manager
    assert monitor.send_alerts(now=NOW) == 0  # each note once per kind
    deliver_mail()
    subjects = sorted(m["Subject"] for m in inbox.to(manager.email))
    assert subjects == ["Notas em contingência na metade do prazo de envio",
                        "Notas em contingência vencidas: envie-as à SEFAZ"]
    overdue = next(m for m in inbox.to(manager.email) if "vencidas" in m["Subject"]).get_body(("plain",)).get_content()
    assert "NFC-e nº 3" in overdue and fiscal_client.legal_name in overdue and "nº 2" not in overdue
    services.ingest_file(fiscal_client, "c-ok", offline(3, 30, protocol_cstat=100))  # authorized at last
    assert [n.document.number for n in monitor.pending_notes([fiscal_client.id], now=NOW)] == [2, 4]
    assert monitor.send_alerts(now=NOW + timedelta(hours=12)) == 2  # note 2 now overdue, note 4 at half


def test_the_monitor_page_lists_the_partner_notes_only(db, fiscal_client, other_partner, plan, login_as, manager):
    from tests.factories import ClientFactory

    services.ingest_file(fiscal_client, "c", offline(3, 30))
    services.ingest_file(fiscal_client, "b", offline(2, 13))
    stranger = ClientFactory(partner=other_partner, plan=plan, cnpj=SELLER)
    services.ingest_file(stranger, "s", offline(9, 20))
    page = login_as(manager).get("/contingencia")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-state="overdue"') == 1 and html.count('data-state="half"') == 1
    assert "NFC-e 3" in html and "NFC-e 9" not in html and fiscal_client.legal_name in html
