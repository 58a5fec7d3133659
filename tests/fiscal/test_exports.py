"""Exports: the zip layout accountants import (Canceladas/ with the event beside its note, late
cancellations of earlier months, Eventos/), the PDF report and CSV index, the signed expiring link,
the API, and the automatic export of the previous month: once per client and month."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from fiscal import exports, services
from fiscal.models import ExportStatus, FiscalExport, FiscalSettings
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from fiscal.tasks import monthly_exports
from tests.fiscal.conftest import BUYER, SELLER

NOW = datetime.now(UTC).replace(microsecond=0)
THIS_MONTH_START = NOW.replace(day=1, hour=12, minute=0, second=0)
LAST_MONTH = (THIS_MONTH_START - timedelta(days=1)).replace(day=10)
TWO_MONTHS_AGO = (LAST_MONTH.replace(day=1) - timedelta(days=1)).replace(day=10)


def note(**overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria Pão Quente", recipient_doc=BUYER,
                  recipient_name="Mercado Árvore", number=1, issued_at=LAST_MONTH, total_cents=10000)
    values.update(overrides)
    return nfe_xml(**values)


@pytest.fixture
def month_of_notes(db, fiscal_client):
    """Last month: 3 authorized (one NFC-e), 1 cancelled, 1 denied, 1 supplier note, a CC-e; and a note of
    two months ago cancelled last month."""
    ingest = lambda name, data: services.ingest_file(fiscal_client, name, data)  # noqa: E731
    ingest("1", note(number=1, total_cents=1000))
    ingest("2", note(number=2, total_cents=2000))
    ingest("3", note(number=3, total_cents=3000, model=65))
    ingest("4", note(number=4, total_cents=4000))
    ingest("c4", cancellation_xml(key_of(note(number=4, total_cents=4000)), LAST_MONTH + timedelta(hours=2)))
    ingest("5", note(number=5, total_cents=5000, protocol_cstat=302))
    ingest("f", note(number=6, emitter_cnpj=BUYER, recipient_doc=SELLER, total_cents=600))
    ingest("cce", cancellation_xml(key_of(note(number=1, total_cents=1000)), LAST_MONTH, event_type="110110"))
    old = note(number=90, issued_at=TWO_MONTHS_AGO, total_cents=9000)
    ingest("90", old)
    ingest("c90", cancellation_xml(key_of(old), LAST_MONTH + timedelta(days=1)))
    db.session.commit()
    return fiscal_client, services.month_of(LAST_MONTH)


def read_zip(export):
    with exports.open_export(export) as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def test_the_zip_has_the_folders_accountants_import(db, month_of_notes):
    client, month = month_of_notes
    export = exports.request_export(client, month=month)
    exports.build_export(export.id)
    assert export.status == ExportStatus.READY and export.progress == 100
    root = f"{SELLER}_{month}"
    names = set(read_zip(export).namelist())
    key = lambda n, **kw: key_of(note(number=n, **kw))  # noqa: E731
    expected = {
        f"{root}/NFe/Autorizadas/{key(1, total_cents=1000)}-procNFe.xml",
        f"{root}/NFe/Autorizadas/{key(2, total_cents=2000)}-procNFe.xml",
        f"{root}/NFCe/Autorizadas/{key(3, total_cents=3000, model=65)}-procNFe.xml",
        f"{root}/NFe/Canceladas/{key(4, total_cents=4000)}-procNFe.xml",
        f"{root}/NFe/Canceladas/{key(4, total_cents=4000)}-110111-01-procEvento.xml",
        f"{root}/NFe/Denegadas/{key(5, total_cents=5000, protocol_cstat=302)}-procNFe.xml",
        f"{root}/NFe/Autorizadas/{key(6, emitter_cnpj=BUYER, recipient_doc=SELLER, total_cents=600)}-procNFe.xml",
        f"{root}/Eventos/{key(1, total_cents=1000)}-110110-01-procEvento.xml",
        f"{root}/NFe/Canceladas/{key(90, issued_at=TWO_MONTHS_AGO, total_cents=9000)}-procNFe.xml",
        f"{root}/NFe/Canceladas/{key(90, issued_at=TWO_MONTHS_AGO, total_cents=9000)}-110111-01-procEvento.xml",
        f"{root}/indice.csv", f"{root}/relatorio.pdf",
    }
    assert names == expected
    archive = read_zip(export)
    assert archive.read(f"{root}/NFe/Autorizadas/{key(2, total_cents=2000)}-procNFe.xml") == note(number=2,
                                                                                                    total_cents=2000)
    index = archive.read(f"{root}/indice.csv").decode("utf-8-sig").splitlines()
    assert index[0].startswith("Chave;Modelo;Série;Número")
    assert len(index) == 1 + 7 and any("cancelada neste mês" in line for line in index)
    assert any(";Denegada;" in line and ";50,00;" in line for line in index)
    assert archive.read(f"{root}/relatorio.pdf").startswith(b"%PDF")
    assert export.document_count == 7
    # the XML members are the stored deflate streams copied as they are: a valid zip, CRCs right, compressed
    assert archive.testzip() is None
    xml_members = [i for i in archive.infolist() if i.filename.endswith(".xml")]
    assert all(i.compress_type == zipfile.ZIP_DEFLATED and i.compress_size < i.file_size for i in xml_members)
    assert {archive.read(i).startswith(b"<?xml") for i in xml_members} == {True}


def test_participant_and_model_filters(db, month_of_notes):
    client, month = month_of_notes
    received = exports.request_export(client, month=month, participant="received")
    exports.build_export(received.id)
    xmls = [n for n in read_zip(received).namelist() if n.endswith("procNFe.xml")]
    assert len(xmls) == 1
    nfce = exports.request_export(client, month=month, model=65, participant="issued")
    exports.build_export(nfce.id)
    assert [n.split("/")[1] for n in read_zip(nfce).namelist() if n.endswith(".xml")] == ["NFCe"]


def test_danfes_on_request(db, month_of_notes):
    client, month = month_of_notes
    export = exports.request_export(client, month=month, model=65, include_pdf=True)
    exports.build_export(export.id)
    pdfs = [n for n in read_zip(export).namelist() if "/PDF/" in n]
    assert len(pdfs) == 1 and read_zip(export).read(pdfs[0]).startswith(b"%PDF")


def test_bad_requests_are_refused_and_nothing_is_saved(db, fiscal_client):
    for kwargs in (dict(month=202613), dict(month=199912), dict(month=202601, model=58),
                   dict(month=202601, participant="both")):
        with pytest.raises(exports.ExportError):
            exports.request_export(fiscal_client, **kwargs)
    assert db.session.scalar(select(func.count()).select_from(FiscalExport)) == 0


def test_the_link_works_for_what_it_names_until_it_expires(client, db, month_of_notes):
    fiscal_client, month = month_of_notes
    export = exports.request_export(fiscal_client, month=month)
    exports.build_export(export.id)
    db.session.commit()
    url = exports.download_url(export)
    assert url.startswith("http://localhost/exportacoes/")
    path = url.removeprefix("http://localhost")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert client.get(path[:-3] + "abc").status_code == 404  # tampered
    with time_machine.travel(export.expires_at + timedelta(seconds=1)):
        expired = client.get(path)
    assert expired.status_code == 410 and "Exporte novamente" in expired.get_data(as_text=True)


def test_an_unfinished_export_says_so(client, db, fiscal_client):
    export = exports.request_export(fiscal_client, month=202601)
    db.session.commit()
    response = client.get(f"/exportacoes/{exports.download_token(export)}")
    assert response.status_code == 409 and "Estamos gerando o arquivo" in response.get_data(as_text=True)


def test_ready_e_mail_carries_the_link(db, month_of_notes, inbox, deliver_mail):
    client, month = month_of_notes
    export = exports.request_export(client, month=month, email="contador@contabil.example")
    exports.build_export(export.id)
    exports.notify_ready(export)
    deliver_mail()
    [message] = inbox.to("contador@contabil.example")
    assert message["Subject"].startswith("Download das Notas")
    body = message.get_body(("plain",)).get_content()
    assert exports.download_url(export) in body and "expira em" in body
    [report] = list(message.iter_attachments())
    assert report.get_content_type() == "application/pdf" and report.get_filename().startswith("relatorio-")
    assert report.get_content().startswith(b"%PDF")


def test_the_api_starts_an_export_and_reports_it(client, db, month_of_notes, partner_headers, other_partner, plan):
    fiscal_client, month = month_of_notes
    label = f"{month // 100}-{month % 100:02d}"
    response = client.post(f"/api/v1/clients/{fiscal_client.id}/exports", headers=partner_headers,
                           json={"month": label, "participant": "issued"})
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
    export_id = response.get_json()["id"]
    assert client.get(f"/api/v1/exports/{export_id}", headers=partner_headers).get_json()["download_url"] is None
    exports.build_export(export_id)
    db.session.commit()
    body = client.get(f"/api/v1/exports/{export_id}", headers=partner_headers).get_json()
    assert body["status"] == "ready" and body["download_url"].startswith("http://localhost/exportacoes/")
    for bad in ({"month": "2026-13"}, {"month": label, "model": 58}, {"month": label, "participant": "x"},
                {"month": label, "include_pdf": "yes"}, {"month": label, "extra": 1}, {}):
        assert client.post(f"/api/v1/clients/{fiscal_client.id}/exports", headers=partner_headers,
                           json=bad).status_code == 422, bad
    from partner.services import create_api_token

    _token, other = create_api_token(other_partner, "outro")
    db.session.commit()
    assert client.get(f"/api/v1/exports/{export_id}",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.post(f"/api/v1/clients/{fiscal_client.id}/exports", headers={"Authorization": f"Bearer {other}"},
                       json={"month": label}).status_code == 404


def test_the_automatic_export_runs_once_per_client_and_month(db, month_of_notes, partner, plan):
    client, month = month_of_notes
    client.accountant_email = "contador@contabil.example"
    fifth = THIS_MONTH_START.replace(day=5, tzinfo=None)
    assert monthly_exports.run(today=fifth.replace(day=4).isoformat()) == 0  # not yet
    assert monthly_exports.run(today=fifth.isoformat()) == 1
    assert monthly_exports.run(today=fifth.isoformat()) == 0  # a retry changes nothing
    assert monthly_exports.run(today=fifth.replace(day=9).isoformat()) == 0
    [export] = db.session.execute(select(FiscalExport)).scalars().all()
    # no requester: notify_ready mails the accountants who accepted the company and the managers
    assert (export.automatic_month, export.month, export.email) == (month, month, "")


def test_a_client_can_move_its_export_day(db, month_of_notes):
    client, _month = month_of_notes
    db.session.add(FiscalSettings(client_id=client.id, export_day=12))
    fifth = THIS_MONTH_START.replace(day=5, tzinfo=None)
    assert monthly_exports.run(today=fifth.isoformat()) == 0
    assert monthly_exports.run(today=fifth.replace(day=12).isoformat()) == 1


def test_a_spooled_central_directory_writes_the_same_zip_also_past_zip64_counts(tmp_path):
    """The export's central directory goes to a file as members are added (memory flat as the export grows):
    the zip reads back whole — names, contents, CRCs, dates, flags — and past 65,535 members, where the
    directory needs its ZIP64 records."""
    import zipfile

    from core.blobstore import compress
    from fiscal.exports import _MemberWriter, spool_directory

    count = 65_600
    path = tmp_path / "spooled.zip"
    with open(tmp_path / "directory", "w+b") as directory, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        spool_directory(archive, directory)
        member = _MemberWriter(archive)
        member.blob("Notas/Autorizadas/ação-0.xml", compress("<nota>0 ação</nota>".encode()))  # UTF-8 name flag
        for n in range(1, count - 1):
            archive.writestr(f"Notas/{n}.xml", f"<nota>{n}</nota>")
        with archive.open("indice.csv", "w") as target:
            target.write(b"chave;valor\n")
        assert len(archive.filelist) == count and not archive.NameToInfo  # nothing kept in memory
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        assert len(infos) == count and archive.testzip() is None
        assert infos[0].filename == "Notas/Autorizadas/ação-0.xml" and infos[0].flag_bits & 0x800
        assert archive.read(infos[0]) == "<nota>0 ação</nota>".encode()
        assert archive.read("Notas/65598.xml") == b"<nota>65598</nota>"
        assert archive.read("indice.csv") == b"chave;valor\n"
        assert all(info.date_time[0] >= 1980 for info in infos[:10])
