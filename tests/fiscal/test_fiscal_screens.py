"""The partner panel's fiscal screens on Gerenciar: XMLs emitidos with the totals, XMLs de fornecedores
(acknowledging), Relatórios e documentos (PDF report), one note (XML, DANFE, e-mailed expiring link),
exports with progress, uploads run as a background job, and the dashboard's contingency badge."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from fiscal import panel, services
from fiscal.models import Direction, FiscalDocument, FiscalExport, FiscalImport
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from fiscal.tasks import run_import
from tests.conftest import login_id
from tests.fiscal.conftest import BUYER, SELLER
from tests.sql import statements_sent

NOW = datetime.now(UTC).replace(microsecond=0)
LAST_MONTH = (NOW.replace(day=1, hour=12, minute=0, second=0) - timedelta(days=1)).replace(day=10)
MONTH = services.month_of(LAST_MONTH)
MONTH_ISO = panel.month_label_iso(MONTH)


def note(**overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria Pão Quente", recipient_doc=BUYER,
                  recipient_name="Mercado Árvore", number=1, issued_at=LAST_MONTH, total_cents=10000)
    values.update(overrides)
    return nfe_xml(**values)


@pytest.fixture
def notes(db, fiscal_client):
    """Last month: 2 authorized NF-e, 1 cancelled, 1 denied, 1 in contingency, 1 NFC-e; 2 supplier notes."""
    files = {
        "1": note(number=1, total_cents=1000), "2": note(number=2, total_cents=2000),
        "3": note(number=3, total_cents=3000), "4": note(number=4, total_cents=4000, protocol_cstat=302),
        "5": note(number=5, total_cents=5000, tp_emis=9, protocol_cstat=None, model=65),
        "6": note(number=6, total_cents=600, model=65),
        "f1": note(number=7, emitter_cnpj=BUYER, emitter_name="Moinho Sul", recipient_doc=SELLER, total_cents=700),
        "f2": note(number=8, emitter_cnpj=BUYER, emitter_name="Moinho Sul", recipient_doc=SELLER, total_cents=800),
    }
    for name, data in files.items():
        services.ingest_file(fiscal_client, name, data)
    services.ingest_file(fiscal_client, "c3", cancellation_xml(key_of(files["3"]), LAST_MONTH + timedelta(hours=1)))
    db.session.commit()
    return files


def url(client, path):
    return f"/clientes/{client.id}{path}"


def test_gerenciar_shows_the_buttons_to_managers_only(db, fiscal_client, login_as, manager, accountant):
    fiscal_client.accountant_email = accountant.email
    html = login_as(manager).get(url(fiscal_client, "")).get_data(as_text=True)
    for label in ("XMLs emitidos", "XMLs de fornecedores", "Relatórios e documentos", "Enviar XMLs"):
        assert label in html
    html = login_as(accountant).get(url(fiscal_client, "")).get_data(as_text=True)
    assert "XMLs emitidos" not in html and "Enviar XMLs" not in html


def test_issued_list_and_totals_match_the_services(db, notes, fiscal_client, login_as, manager):
    response = login_as(manager).get(url(fiscal_client, f"/xmls-emitidos?mes={MONTH_ISO}&modelo=55"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    totals = services.period_totals(fiscal_client.id, MONTH, model=55, direction=Direction.ISSUED)
    assert totals["authorized"] == {"count": 2, "total_cents": 3000}
    assert totals["cancelled"]["count"] == 1 and totals["denied"]["count"] == 1
    assert "R$ 30,00" in html and "R$ 40,00" in html  # authorized, denied
    for number_key in ("1", "2", "3", "4"):
        assert key_of(notes[number_key]) in html
    assert key_of(notes["6"]) not in html and key_of(notes["f1"]) not in html  # NFC-e, supplier
    assert "Cancelada" in html and "Denegada" in html and "Autorizada" in html
    nfce = login_as(manager).get(url(fiscal_client, f"/xmls-emitidos?mes={MONTH_ISO}&modelo=65")).get_data(as_text=True)
    assert "Contingência" in nfce and key_of(notes["6"]) in nfce


@pytest.mark.parametrize("query", ["mes=2026-13", "mes=abc", "modelo=99", "modelo=x"])
def test_bad_filters_say_why(db, fiscal_client, login_as, manager, query):
    response = login_as(manager).get(url(fiscal_client, f"/xmls-emitidos?{query}"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Mês inválido" in html or "Tipo inválido" in html


def test_supplier_notes_pending_then_acknowledged(db, notes, fiscal_client, login_as, manager):
    http = login_as(manager)
    pending = http.get(url(fiscal_client, f"/xmls-fornecedores?mes={MONTH_ISO}")).get_data(as_text=True)
    k1, k2 = key_of(notes["f1"]), key_of(notes["f2"])
    assert k1 in pending and k2 in pending and key_of(notes["1"]) not in pending
    response = http.post(url(fiscal_client, "/xmls-fornecedores/reconhecer"),
                         data={"chave": [k1, key_of(notes["1"])], "mes": MONTH_ISO})
    assert response.status_code == 303
    assert services.find_document(fiscal_client.id, 1, k1).acknowledged_at is not None
    assert services.find_document(fiscal_client.id, 1, key_of(notes["1"])).acknowledged_at is None  # issued
    pending = http.get(url(fiscal_client, f"/xmls-fornecedores?mes={MONTH_ISO}")).get_data(as_text=True)
    done = http.get(url(fiscal_client, f"/xmls-fornecedores?mes={MONTH_ISO}&aba=reconhecidas")).get_data(as_text=True)
    assert k1 not in pending and k2 in pending and k1 in done and k2 not in done
    empty = http.post(url(fiscal_client, "/xmls-fornecedores/reconhecer"), data={}, follow_redirects=True)
    assert "Selecione ao menos uma nota" in empty.get_data(as_text=True)


def test_reports_totals_and_pdf(db, notes, fiscal_client, login_as, manager):
    http = login_as(manager)
    html = http.get(url(fiscal_client, f"/relatorios?mes={MONTH_ISO}&modelo=todos")).get_data(as_text=True)
    assert "Quantidade de Autorizadas" in html and "R$ 36,00" in html  # 10 + 20 + 6 (NFC-e)
    assert panel.report_totals(fiscal_client.id, MONTH, None)[(65, "contingency")] == [1, 5000]
    pdf = http.get(url(fiscal_client, f"/relatorios/pdf?mes={MONTH_ISO}&modelo=55"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert http.get(url(fiscal_client, "/relatorios/pdf?mes=2026-00")).status_code == 422


def test_one_note_xml_and_danfe(db, notes, fiscal_client, login_as, manager):
    http = login_as(manager)
    key = key_of(notes["1"])
    html = http.get(url(fiscal_client, f"/notas/{key}")).get_data(as_text=True)
    assert "Padaria Pão Quente" in html and "Mercado Árvore" in html and "R$ 10,00" in html and "Visualizar DANFE" in html
    assert 'data-testid="items"' in html and "Produto 1" in html  # the products, read from the stored XML
    xml = http.get(url(fiscal_client, f"/notas/{key}/xml"))
    assert xml.status_code == 200 and xml.data == notes["1"]
    pdf = http.get(url(fiscal_client, f"/notas/{key}/pdf"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # a cancelled note: the zip of the note and its event
    cancelled = key_of(notes["3"])
    html = http.get(url(fiscal_client, f"/notas/{cancelled}")).get_data(as_text=True)
    assert "Cancelamento" in html and "Cancelada" in html
    bundle = http.get(url(fiscal_client, f"/notas/{cancelled}/xml"))
    names = zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()
    assert bundle.mimetype == "application/zip" and f"{cancelled}.xml" in names and len(names) == 2
    assert zipfile.ZipFile(io.BytesIO(bundle.data)).read(f"{cancelled}.xml") == notes["3"]


def test_bad_or_foreign_keys_are_404(db, notes, fiscal_client, other_client, login_as, manager, plan, partner):
    from tests.factories import ClientFactory

    sibling = ClientFactory(partner=partner, plan=plan, cnpj=BUYER)
    services.ingest_file(sibling, "s", note(number=50, emitter_cnpj=BUYER, recipient_doc=SELLER))
    db.session.commit()
    http = login_as(manager)
    assert http.get(url(fiscal_client, "/notas/abc")).status_code == 404
    assert http.get(url(fiscal_client, "/notas/" + "1" * 44 + "/xml")).status_code == 404
    sibling_key = key_of(note(number=50, emitter_cnpj=BUYER, recipient_doc=SELLER))
    assert http.get(url(sibling, f"/notas/{sibling_key}")).status_code == 200
    assert http.get(url(fiscal_client, f"/notas/{sibling_key}/xml")).status_code == 404  # another client's key


def test_a_note_without_body_has_no_danfe(db, fiscal_client, login_as, manager):
    from fiscal.models import FiscalDocument as Doc

    services.ingest_file(fiscal_client, "1", note(number=1))
    document = db.session.scalar(select(Doc))
    document.has_body = False
    db.session.commit()
    response = login_as(manager).get(url(fiscal_client, f"/notas/{document.key}/pdf"))
    assert response.status_code == 422 and "Não foi possível gerar o DANFE" in response.get_data(as_text=True)


def test_the_emailed_link_works_then_expires(db, notes, fiscal_client, login_as, manager, inbox, deliver_mail,
                                            client):
    key = key_of(notes["1"])
    http = login_as(manager)
    bad = http.post(url(fiscal_client, f"/notas/{key}/enviar"), data={"email": "nao-e-email"})
    assert bad.status_code == 422 and "Informe um e-mail válido" in bad.get_data(as_text=True)
    assert http.post(url(fiscal_client, f"/notas/{key}/enviar"),
                     data={"email": "cliente@padaria.example"}).status_code == 303
    deliver_mail()
    [message] = inbox.to("cliente@padaria.example")
    body = message.get_body(("plain",)).get_content()
    link = next(line for line in body.splitlines() if "/xml/" in line).strip()
    path = link.removeprefix("http://localhost")
    client.get("/logout")
    with client.session_transaction() as session:
        session.clear()
    assert client.get(path).data == notes["1"]
    assert client.get(path[:-2] + "xx").status_code == 404
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1)):
        expired = client.get(path)
    assert expired.status_code == 410 and "Este link expirou" in expired.get_data(as_text=True)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_upload_job_end_to_end(db, fiscal_client, login_as, manager):
    files = {f"nota{n}.xml": note(number=n, total_cents=n * 100) for n in range(1, 6)}
    files["lixo.txt"] = b"isto nao e xml"
    http = login_as(manager)
    response = http.post(url(fiscal_client, "/enviar-xmls"),
                         data={"arquivo": (io.BytesIO(zip_of(files)), "notas.zip")},
                         content_type="multipart/form-data")
    assert response.status_code == 303
    job = db.session.scalar(select(FiscalImport))
    assert job.total == 6 and job.status == "pending"
    status = http.get(response.headers["Location"] + "/status").get_json()
    assert status == {"id": job.id, "status": "pending", "progress": 0, "processed": 0, "total": 6, "done": False}
    pending_page = http.get(response.headers["Location"]).get_data(as_text=True)
    assert "Atualizar" in pending_page and "js/fiscal.js" in pending_page
    assert run_import(job.id) == "done"
    status = http.get(response.headers["Location"] + "/status").get_json()
    assert status["done"] and status["progress"] == 100
    page = http.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count('data-result="created"') == 5 and page.count('data-result="refused"') == 1
    assert db.session.scalar(select(func.count(FiscalDocument.id))) == 5
    # again: all duplicates
    again = http.post(url(fiscal_client, "/enviar-xmls"), data={"arquivo": (io.BytesIO(zip_of(files)), "notas.zip")},
                      content_type="multipart/form-data")
    second = db.session.get(FiscalImport, int(again.headers["Location"].rsplit("/", 1)[-1]))
    assert run_import(second.id) == "done"
    db.session.expire_all()  # the task ran in its own app context (session)
    assert [r["result"] for r in second.results].count("duplicate") == 5


def test_upload_of_several_xml_files(db, fiscal_client, login_as, manager):
    http = login_as(manager)
    response = http.post(url(fiscal_client, "/enviar-xmls"), data={"arquivo": [
        (io.BytesIO(note(number=1)), "a.xml"), (io.BytesIO(note(number=2)), "b.xml")]},
        content_type="multipart/form-data")
    assert response.status_code == 303
    job = db.session.scalar(select(FiscalImport))
    run_import(job.id)
    db.session.expire_all()
    assert [r["result"] for r in job.results] == ["created", "created"]


@pytest.mark.parametrize(("upload", "message"), [
    (None, "Escolha um arquivo XML ou zip"),
    ((b"", "vazio.xml"), "Escolha um arquivo XML ou zip"),
    ((b"isto nao e um zip", "notas.zip"), "não é um zip válido"),
    ((b"%PDF-1.4 nada", "nota.pdf"), "Envie arquivos XML"),
])
def test_bad_uploads_are_refused_and_nothing_saved(db, fiscal_client, login_as, manager, upload, message):
    data = {"arquivo": (io.BytesIO(upload[0]), upload[1])} if upload else {}
    response = login_as(manager).post(url(fiscal_client, "/enviar-xmls"), data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(FiscalImport.id))) == 0


def test_export_from_the_panel_with_progress(db, notes, fiscal_client, login_as, manager):
    from fiscal import exports

    http = login_as(manager)
    form = http.get(url(fiscal_client, f"/exportar?mes={MONTH_ISO}")).get_data(as_text=True)
    assert manager.email in form and MONTH_ISO in form and "Documentos em PDF" in form
    bad = http.post(url(fiscal_client, "/exportar"), data={"email": "x", "mes": MONTH_ISO, "participante": "all"})
    assert bad.status_code == 422 and "Informe um e-mail válido" in bad.get_data(as_text=True)
    bad = http.post(url(fiscal_client, "/exportar"), data={"email": "a@b.example", "mes": "2026-13"})
    assert bad.status_code == 422 and "Mês inválido" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count(FiscalExport.id))) == 0
    response = http.post(url(fiscal_client, "/exportar"), data={
        "email": "contador@contabil.example", "mes": MONTH_ISO, "modelo": "55", "participante": "issued", "pdf": "1"})
    assert response.status_code == 303
    export = db.session.scalar(select(FiscalExport))
    assert (export.email, export.month, export.model, export.participant, export.include_pdf) == (
        "contador@contabil.example", MONTH, 55, "issued", True)
    page = http.get(response.headers["Location"]).get_data(as_text=True)
    assert "Estamos gerando o arquivo para download, assim que estiver pronto enviaremos em seu email." in page
    assert http.get(response.headers["Location"] + "/status").get_json()["done"] is False
    exports.build_export(export.id)
    db.session.commit()
    state = http.get(response.headers["Location"] + "/status").get_json()
    assert state["status"] == "ready" and state["progress"] == 100 and "/exportacoes/" in state["download_url"]


def test_dashboard_badge_counts_contingency_notes(db, notes, fiscal_client, login_as, manager):
    html = login_as(manager).get("/painel").get_data(as_text=True)
    assert "1 em contingência" in html
    assert panel.contingency_counts([fiscal_client.id]) == {fiscal_client.id: 1}


def test_uploads_above_the_form_limit_go_up_to_the_fiscal_limit(db, fiscal_client, login_as, manager, app):
    import os

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    big = zip_of({"nota.xml": note(number=1), "grande.bin": os.urandom(3 * 1024 * 1024)})  # > the 2 MB form limit
    # encoded in memory (the test client would spool a body this large to a temporary file)
    boundary, body = encode_multipart({"arquivo": FileStorage(io.BytesIO(big), "notas.zip")})
    kind = f"multipart/form-data; boundary={boundary}"
    http = login_as(manager)
    assert http.post(url(fiscal_client, "/enviar-xmls"), data=body, content_type=kind).status_code == 303
    old = app.config["FISCAL_MAX_UPLOAD"]
    app.config["FISCAL_MAX_UPLOAD"] = 1024 * 1024
    try:
        too_big = http.post(url(fiscal_client, "/enviar-xmls"), data=body, content_type=kind)
    finally:
        app.config["FISCAL_MAX_UPLOAD"] = old
    assert too_big.status_code == 413
    assert db.session.scalar(select(func.count(FiscalImport.id))) == 1


def test_a_job_whose_upload_is_gone_fails_and_says_so(db, fiscal_client, login_as, manager):
    from core.blobstore import blob_store

    job = panel.start_import(fiscal_client, "a.xml", note(number=1), manager)
    db.session.commit()
    blob_store().delete_file(job.blob_name)
    assert run_import(job.id) == "failed"
    page = login_as(manager).get(url(fiscal_client, f"/importacoes/{job.id}")).get_data(as_text=True)
    assert "Não foi possível ler o arquivo enviado" in page


def test_posts_need_the_csrf_token(db, notes, fiscal_client, csrf_client, manager):
    with csrf_client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = login_id(manager), True
    key = key_of(notes["f1"])
    for path, data in (("/xmls-fornecedores/reconhecer", {"chave": key}),
                       (f"/notas/{key}/enviar", {"email": "a@b.example"}),
                       ("/exportar", {"email": "a@b.example", "mes": MONTH_ISO}), ("/enviar-xmls", {})):
        assert csrf_client.post(url(fiscal_client, path), data=data).status_code == 400
    assert services.find_document(fiscal_client.id, 1, key).acknowledged_at is None
    assert db.session.scalar(select(func.count(FiscalExport.id))) == 0


def test_the_dashboard_badge_is_one_query_per_page(db, notes, fiscal_client, partner, plan):
    from partner.tabs import flags_for
    from tests.factories import ClientFactory

    others = [ClientFactory(partner=partner, plan=plan) for _ in range(5)]
    db.session.flush()
    ids = [fiscal_client.id] + [c.id for c in others]
    with statements_sent(db.engine) as statements:
        panel.contingency_counts(ids)
    assert len(statements) == 1
    flags = flags_for(ids)
    assert [f.label for f in flags[fiscal_client.id] if "contingência" in f.label] == ["1 em contingência"]
