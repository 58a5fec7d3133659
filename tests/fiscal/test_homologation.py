"""Homologation in the panel: the Gerenciar fiscal screens show production by default, with a switch to
homologation ("ambiente"); the two are never mixed in the lists, the totals, the report or the exports."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from fiscal import exports, panel, services
from fiscal.models import FiscalExport
from fiscal.synth import key_of, nfe_xml
from tests.fiscal.conftest import BUYER, SELLER

NOW = datetime.now(UTC).replace(microsecond=0)
LAST_MONTH = (NOW.replace(day=1, hour=12, minute=0, second=0) - timedelta(days=1)).replace(day=10)
MONTH_ISO = panel.month_label_iso(services.month_of(LAST_MONTH))


def note(number, environment, total_cents, **overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria", recipient_doc=BUYER, recipient_name="Mercado",
                  number=number, issued_at=LAST_MONTH, total_cents=total_cents, environment=environment)
    values.update(overrides)
    return nfe_xml(**values)


@pytest.fixture
def both(db, fiscal_client):
    """Production: notes 1 and 2 (R$ 10 + R$ 20) and supplier note 5; homologation: note 3 (R$ 333,33),
    supplier note 6, and note 1's very key in homologation too (a test run of the same numbering)."""
    files = [("1", note(1, 1, 1000)), ("2", note(2, 1, 2000)), ("3", note(3, 2, 33333)),
             ("1h", note(1, 2, 4444)), ("5", note(5, 1, 500, emitter_cnpj=BUYER, recipient_doc=SELLER)),
             ("6", note(6, 2, 600, emitter_cnpj=BUYER, recipient_doc=SELLER))]
    services.ingest_files(fiscal_client, files)
    db.session.commit()
    return dict(files)


def page(http, client, path):
    response = http.get(f"/clientes/{client.id}{path}")
    return response.status_code, response.get_data(as_text=True)


def test_issued_shows_production_by_default_and_homologation_on_request(db, both, fiscal_client, login_as,
                                                                         manager):
    http = login_as(manager)
    status, html = page(http, fiscal_client, f"/xmls-emitidos?mes={MONTH_ISO}")
    assert status == 200
    assert 'data-testid="environment"' in html and 'value="producao" selected' in html
    assert key_of(both["1"]) in html and key_of(both["2"]) in html and key_of(both["3"]) not in html
    assert "R$ 30,00" in html and "R$ 333,33" not in html and "homologation-banner" not in html
    status, html = page(http, fiscal_client, f"/xmls-emitidos?mes={MONTH_ISO}&ambiente=homologacao")
    assert status == 200 and 'value="homologacao" selected' in html and "homologation-banner" in html
    assert key_of(both["3"]) in html and key_of(both["2"]) not in html
    assert "R$ 377,77" in html and "R$ 30,00" not in html  # 333,33 + 44,44: the homologation notes only
    # the links of a homologation list stay in homologation
    assert f"/notas/{key_of(both['3'])}?ambiente=homologacao" in html
    assert "ambiente=homologacao" in html.split('data-testid="month-zip"')[1].split(">")[0]


def test_a_bad_environment_is_refused_next_to_the_switch(db, both, fiscal_client, login_as, manager):
    status, html = page(login_as(manager), fiscal_client, f"/xmls-emitidos?mes={MONTH_ISO}&ambiente=teste")
    assert status == 422
    assert 'data-field-error="ambiente"' in html and "Ambiente inválido" in html
    assert key_of(both["3"]) not in html  # falls back to production


def test_supplier_notes_and_acknowledging_stay_in_their_environment(db, both, fiscal_client, login_as, manager):
    http = login_as(manager)
    _status, html = page(http, fiscal_client, f"/xmls-fornecedores?mes={MONTH_ISO}&modelo=todos")
    assert key_of(both["5"]) in html and key_of(both["6"]) not in html
    _status, html = page(http, fiscal_client, f"/xmls-fornecedores?mes={MONTH_ISO}&modelo=todos&ambiente=homologacao")
    assert key_of(both["6"]) in html and key_of(both["5"]) not in html
    response = http.post(f"/clientes/{fiscal_client.id}/xmls-fornecedores/reconhecer",
                         data={"chave": [key_of(both["6"])], "mes": MONTH_ISO, "ambiente": "homologacao"})
    assert response.status_code == 303 and "ambiente=homologacao" in response.headers["Location"]
    homologation = panel.get_document(fiscal_client.id, key_of(both["6"]), 2)
    assert homologation.acknowledged_at is not None
    # a production acknowledgement does not reach the homologation note, nor the reverse
    http.post(f"/clientes/{fiscal_client.id}/xmls-fornecedores/reconhecer",
              data={"chave": [key_of(both["5"])], "mes": MONTH_ISO, "ambiente": "homologacao"})
    assert panel.get_document(fiscal_client.id, key_of(both["5"]), 1).acknowledged_at is None


def test_reports_and_the_pdf_report_follow_the_switch(db, both, fiscal_client, login_as, manager):
    http = login_as(manager)
    _status, html = page(http, fiscal_client, f"/relatorios?mes={MONTH_ISO}")
    assert "R$ 30,00" in html and "R$ 377,77" not in html
    _status, html = page(http, fiscal_client, f"/relatorios?mes={MONTH_ISO}&ambiente=homologacao")
    assert "R$ 377,77" in html and "R$ 30,00" not in html
    assert f"relatorios/pdf?mes={MONTH_ISO}&amp;modelo=todos&amp;ambiente=homologacao" in html
    assert panel.report_totals(fiscal_client.id, services.month_of(LAST_MONTH), None, environment=2) == {
        (55, "authorized"): [2, 37777]}
    response = http.get(f"/clientes/{fiscal_client.id}/relatorios/pdf?mes={MONTH_ISO}&ambiente=homologacao")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_one_note_is_shown_in_the_environment_the_link_names(db, both, fiscal_client, login_as, manager):
    http = login_as(manager)
    key = key_of(both["1"])  # the same key in both environments
    _status, html = page(http, fiscal_client, f"/notas/{key}")
    assert "R$ 10,00" in html and "Produção" in html
    _status, html = page(http, fiscal_client, f"/notas/{key}?ambiente=homologacao")
    assert "R$ 44,44" in html and f"/notas/{key}/xml?ambiente=homologacao" in html
    response = http.get(f"/clientes/{fiscal_client.id}/notas/{key}/xml?ambiente=homologacao")
    assert response.status_code == 200 and response.data == both["1h"]
    assert http.get(f"/clientes/{fiscal_client.id}/notas/{key_of(both['3'])}").status_code == 404
    assert http.get(f"/clientes/{fiscal_client.id}/notas/{key}?ambiente=outro").status_code == 404


def test_an_export_from_the_homologation_screen_carries_homologation_notes_only(db, both, fiscal_client,
                                                                                  login_as, manager):
    http = login_as(manager)
    _status, html = page(http, fiscal_client, f"/exportar?mes={MONTH_ISO}&ambiente=homologacao")
    assert 'value="homologacao" selected' in html
    response = http.post(f"/clientes/{fiscal_client.id}/exportar", data={
        "email": manager.email, "mes": MONTH_ISO, "modelo": "todos", "participante": "all", "ambiente": "homologacao"})
    assert response.status_code == 303
    export = db.session.query(FiscalExport).order_by(FiscalExport.id.desc()).first()
    assert export.environment == 2
    exports.build_export(export.id)
    with exports.open_export(export) as handle:
        names = zipfile.ZipFile(io.BytesIO(handle.read())).namelist()
    xmls = sorted(n.rsplit("/", 1)[-1][:44] for n in names if n.endswith("procNFe.xml"))
    assert xmls == sorted([key_of(both["3"]), key_of(both["1h"]), key_of(both["6"])])
    production = exports.request_export(fiscal_client, month=services.month_of(LAST_MONTH))
    exports.build_export(production.id)
    with exports.open_export(production) as handle:
        names = zipfile.ZipFile(io.BytesIO(handle.read())).namelist()
    assert sorted(n.rsplit("/", 1)[-1][:44] for n in names if n.endswith("procNFe.xml")) == sorted(
        [key_of(both["1"]), key_of(both["2"]), key_of(both["5"])])
    bad = http.post(f"/clientes/{fiscal_client.id}/exportar", data={
        "email": manager.email, "mes": MONTH_ISO, "modelo": "todos", "participante": "all", "ambiente": "x"})
    assert bad.status_code == 422 and 'data-field-error="ambiente"' in bad.get_data(as_text=True)
