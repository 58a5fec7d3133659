"""The fiscal panel in real Chromium: a manager uploads a zip of generated notes on Gerenciar ("Enviar
XMLs"), watches the job finish (the progress page polls and reloads), sees XMLs emitidos with the totals,
opens a DANFE and requests an export of the month, whose progress page turns into a download link; the
"Download das Notas" e-mail arrives at the test SMTP server and its link, opened in a browser with no
session, downloads a zip whose folders are the layout accountants import."""

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.browser

CLIENT = "Padaria Pão Quente Ltda"  # demo client of the demo manager's partner
CLIENT_CNPJ = "34028316000103"
# Well before the demo's notes (the last three months), so the totals are only this test's.
ISSUED = (datetime.now(UTC).replace(day=15, hour=15, minute=0, second=0, microsecond=0) - timedelta(days=430))


def _zip(tmp_path):
    from fiscal.synth import nfe_xml

    files = {f"nota-{n}.xml": nfe_xml(emitter_cnpj=CLIENT_CNPJ, emitter_name=CLIENT, recipient_doc="45723174000110",
                                      recipient_name="Mercado Árvore", number=700 + n, issued_at=ISSUED,
                                      total_cents=cents, protocol_cstat=cstat)
             for n, cents, cstat in ((1, 1000, 100), (2, 2550, 100), (3, 4000, 302))}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    path = tmp_path / "notas.zip"
    path.write_bytes(buffer.getvalue())
    return path


def _run_latest(live_app, model, runner):
    from core.db import db

    with live_app.app_context():
        job_id = db.session.scalar(select(model.id).order_by(model.id.desc()).limit(1))
        runner(job_id)
        db.session.commit()
        db.session.remove()


def test_manager_uploads_sees_totals_opens_danfe_and_exports(login, live_app, live_server, tmp_path, smtp_server,
                                                               demo_logins, browser):
    from fiscal import panel
    from fiscal.models import FiscalExport, FiscalImport

    month_iso = f"{ISSUED:%Y-%m}"
    page = login("manager")
    page.get_by_test_id("clients-table").locator("tr", has_text=CLIENT).get_by_role("link", name="Gerenciar").click()
    page.wait_for_url(re.compile(r"/clientes/\d+$"))
    page.get_by_test_id("action-enviar-xmls").click()
    page.get_by_label("Arquivos XML ou zip").set_input_files(str(_zip(tmp_path)))
    page.get_by_test_id("upload-submit").click()
    page.wait_for_url(re.compile(r"/importacoes/\d+$"))
    expect(page.get_by_test_id("import-progress")).to_have_attribute("data-state", "pending")

    _run_latest(live_app, FiscalImport, panel.run_import)  # the worker's job; the page polls and reloads
    results = page.get_by_test_id("import-results")
    expect(results).to_be_visible(timeout=10_000)
    expect(results.locator('tr[data-result="created"]')).to_have_count(3)

    page.get_by_role("link", name="Ver XMLs emitidos").click()
    page.locator("#f-mes").fill(month_iso)
    page.get_by_test_id("filter-submit").click()
    page.wait_for_url(re.compile(r"mes=" + month_iso))
    totals = page.get_by_test_id("totals")
    expect(totals.locator('[data-total="authorized"] [data-count]')).to_have_text("2")
    expect(totals.locator('[data-total="authorized"] [data-value]')).to_contain_text("35,50")
    expect(totals.locator('[data-total="denied"] [data-count]')).to_have_text("1")
    expect(page.get_by_test_id("documents").locator("tbody tr")).to_have_count(3)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the list scrolls inside its box, not the page
    assert page.evaluate("document.querySelector('main, .container, body').scrollWidth") <= 390
    page.set_viewport_size({"width": 1366, "height": 900})

    page.get_by_test_id("documents").get_by_role("link", name="701", exact=True).click()
    danfe = page.get_by_test_id("view-pdf")
    expect(danfe).to_have_text(re.compile("Visualizar DANFE"))
    pdf = page.request.get(danfe.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    page.go_back()
    page.get_by_test_id("month-zip").click()
    expect(page.locator("#f-email")).not_to_have_value("")
    expect(page.locator("#f-mes")).to_have_value(month_iso)
    page.get_by_test_id("export-submit").click()
    page.wait_for_url(re.compile(r"/exportacoes/\d+$"))
    expect(page.get_by_test_id("export-progress")).to_contain_text("Estamos gerando o arquivo para download")

    smtp_server.clear()
    _run_latest(live_app, FiscalExport, _export_task)  # the worker builds the zip and e-mails the link
    download = page.get_by_test_id("export-download")
    expect(download).to_be_visible(timeout=10_000)

    # the accountant's way in: the "Download das Notas" e-mail, its link opened in a browser with no session
    with live_app.app_context():
        from core.db import db
        from core.mail import deliver_pending

        deliver_pending()
        db.session.commit()
        db.session.remove()
    [message] = [m for m in smtp_server.wait_for(1) if m["To"] == demo_logins["users"]["manager"]["email"]
                 and m["Subject"].startswith("Download das Notas")]
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/exportacoes/\S+", body).group(0)
    assert link.startswith(live_server) and link == download.get_attribute("href")
    fresh = browser.new_context(accept_downloads=True)
    try:
        mail_page = fresh.new_page()
        with mail_page.expect_download() as started:
            try:
                mail_page.goto(link)
            except PlaywrightError:
                pass  # navigating to an attachment aborts the navigation: the download is what counts
        path = started.value.path()
        assert started.value.suggested_filename == f"{CLIENT_CNPJ}_{month_iso.replace('-', '')}.zip"
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
    finally:
        fresh.close()
    root = f"{CLIENT_CNPJ}_{month_iso.replace('-', '')}"
    folders = {n.rsplit("/", 1)[0] for n in names}
    assert folders == {root, f"{root}/NFe/Autorizadas", f"{root}/NFe/Denegadas"}
    assert len([n for n in names if n.startswith(f"{root}/NFe/Autorizadas/")]) == 2
    assert len([n for n in names if n.startswith(f"{root}/NFe/Denegadas/")]) == 1
    assert {f"{root}/indice.csv", f"{root}/relatorio.pdf"} <= set(names)


def _export_task(export_id):
    """What the Celery worker runs for an export: build it, then e-mail "Download das Notas"."""
    from fiscal.tasks import build_export

    build_export.run(export_id)
