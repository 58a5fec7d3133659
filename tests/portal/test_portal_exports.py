"""Relatório / Exportar Notas from the portal (a period, the requester's e-mail, "Download das Notas" with the
report attached), the expired link offering a new export, and the automatic export to accepted accountants."""

import io
import re
import zipfile
from datetime import timedelta

from sqlalchemy import select

from fiscal import exports
from fiscal.models import FiscalExport
from fiscal.tasks import monthly_exports
from partner.models import AccountantLink
from tests.portal.conftest import month_start


def test_export_of_the_period_reaches_the_requester(world, login_as, accountant, db, inbox, deliver_mail):
    http = login_as(accountant)
    form = http.get(f"/contador/exportar?empresa=c{world.company.id}&participante=issued")
    assert form.status_code == 200 and accountant.email in form.get_data(as_text=True)  # prefilled
    bad = http.post("/contador/exportar", data={"empresa": f"c{world.company.id}", "email": "x@"})
    assert bad.status_code == 422 and 'data-field-error="email"' in bad.get_data(as_text=True)
    assert db.session.scalar(select(FiscalExport.id)) is None
    start = month_start().date()
    response = http.post("/contador/exportar", data={
        "empresa": f"c{world.company.id}", "email": "arquivo@contabil.example", "periodo": "customizado",
        "de": start.isoformat(), "ate": (start + timedelta(days=27)).isoformat(), "participante": "issued",
        "modelo": "55"})
    assert response.status_code == 303
    followed = http.get(response.headers["Location"]).get_data(as_text=True)
    assert "Estamos gerando o arquivo para download, assim que estiver pronto enviaremos em seu email." in followed
    [export] = db.session.scalars(select(FiscalExport)).all()
    exports.build_export(export.id)
    exports.notify_ready(export)
    deliver_mail()
    [message] = inbox.to("arquivo@contabil.example")
    assert message["Subject"].startswith("Download das Notas")
    body = message.get_body(("plain",)).get_content()
    path = re.search(r"http://localhost(/exportacoes/\S+)", body).group(1)
    [report] = list(message.iter_attachments())
    assert report.get_content().startswith(b"%PDF")
    archive = zipfile.ZipFile(io.BytesIO(http.get(path).data))
    names = archive.namelist()
    keys = world.keys
    assert any(n.endswith(f"Autorizadas/{keys['a1']}-procNFe.xml") for n in names)
    assert any(n.endswith(f"Canceladas/{keys['c3']}-procNFe.xml") for n in names)
    assert not any(keys["r6"] in n or keys["g5"] in n or keys["h7"] in n or keys["x9"] in n for n in names)
    assert names[0].startswith(f"{world.company.cnpj}_{start:%Y%m%d}-")  # the period names the folder


def test_another_company_cannot_be_exported(world, login_as, accountant, db):
    http = login_as(accountant)
    response = http.post("/contador/exportar", data={"empresa": f"c{world.other.id}", "email": accountant.email})
    assert response.status_code == 422 and db.session.scalar(select(FiscalExport.id)) is None


def test_an_expired_link_offers_a_new_export(world, client, db):
    export = exports.request_export(world.company, month=202001, email="c@x.example")
    exports.build_export(export.id)
    export.expires_at = export.finished_at - timedelta(seconds=1)
    db.session.commit()
    page = client.get(f"/exportacoes/{exports.download_token(export)}")
    assert page.status_code == 410 and "/contador/exportar" in page.get_data(as_text=True)


def test_the_automatic_export_goes_to_accepted_accountants_on_their_day(world, login_as, accountant, db, manager,
                                                                       inbox, deliver_mail):
    link = db.session.scalar(select(AccountantLink).where(AccountantLink.client_id == world.company.id))
    http = login_as(accountant)
    bad = http.post(f"/contador/empresas/{world.company.id}", data={"export_day": "31"})
    assert bad.status_code == 422 and 'data-field-error="export_day"' in bad.get_data(as_text=True)
    assert http.post(f"/contador/empresas/{world.company.id}", data={"export_day": "9", "group_name": "Padarias"}
                     ).status_code == 303
    assert (link.export_day, link.group_name) == (9, "Padarias")
    next_month = (month_start() + timedelta(days=32)).replace(day=1, tzinfo=None)

    def company_exports():
        return db.session.scalars(select(FiscalExport).where(FiscalExport.client_id == world.company.id)).all()

    monthly_exports.run(today=next_month.replace(day=5).isoformat())  # the unlinked company's default day
    assert company_exports() == []  # not the default day any more
    monthly_exports.run(today=next_month.replace(day=9).isoformat())
    monthly_exports.run(today=next_month.replace(day=10).isoformat())
    [export] = company_exports()  # never twice a month
    exports.build_export(export.id)
    exports.notify_ready(export)
    deliver_mail()
    assert len(inbox.to(accountant.email)) == 1 and len(inbox.to(manager.email)) == 1  # one e-mail each


def test_a_removed_accountant_receives_no_automatic_export(world, accountant, db, inbox, deliver_mail):
    from partner import accountants

    link = db.session.scalar(select(AccountantLink).where(AccountantLink.client_id == world.company.id))
    accountants.revoke_link(link)
    export = exports.request_export(world.company, month=month_start().year * 100 + month_start().month,
                                    automatic=True)
    exports.build_export(export.id)
    exports.notify_ready(export)
    deliver_mail()
    assert inbox.to(accountant.email) == []
