"""Uploading A1 certificates from the panel tab and the partner API: every fixture file and the
generated ones get their own message next to the right field, and nothing is stored on failure."""

import hashlib
import io
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pfxgen
import pytest
import time_machine
from certhelpers import (
    DUMMY,
    IN_2026,
    JAVA_NFE,
    PASSWORDS,
    SEFAZ_RS,
    SPED_CNPJ,
    SPED_CPF,
    count,
    fixture_bytes,
    store_certificate,
    upload,
)
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select

from certificates import pfx, services
from certificates.models import Certificate
from core.audit import AuditEvent
from core.db import db as _db
from tests.factories import ClientFactory
from tests.sql import statements_sent

ACCEPTED = {
    # file: (client CNPJ, text shown after the upload)
    JAVA_NFE: ("99999999999999", "Parabéns! Certificado válido até 16/05/2029"),
    SPED_CNPJ: ("06157250000116", "Parabéns! Certificado válido até 05/06/2034"),
}
REFUSED = {
    # file: (client CNPJ, field, message)
    JAVA_NFE: ("06157250000116", "file",
               "O CNPJ do certificado (99.999.999/9999-99) não corresponde ao CNPJ do cliente (06.157.250/0001-16)."),
    SPED_CNPJ: ("99999999999999", "file",
                "O CNPJ do certificado (06.157.250/0001-16) não corresponde ao CNPJ do cliente (99.999.999/9999-99)."),
    SPED_CPF: ("06157250000116", "file", "Este certificado não contém um CNPJ de empresa (um e-CPF não é aceito)."),
    DUMMY: ("06157250000116", "file", "O certificado expirou em 26/07/2023."),
    SEFAZ_RS: ("99999090910270", "file", "O certificado expirou em 02/10/2010."),  # read despite critical=FALSE
}


def field_error(html: str, field: str) -> str:
    """The text of the invalid-feedback element of ``field``."""
    marker = f'data-field-error="{field}">'
    assert marker in html, f"no error next to {field}"
    return html.split(marker, 1)[1].split("</div>", 1)[0]


@pytest.fixture
def at_2026():
    with time_machine.travel(IN_2026, tick=False):
        yield


def in_days(days: int) -> datetime:
    """15:00 UTC (noon in Brasília, so the shown date is the same) ``days`` from today."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=15, minute=0, second=0, microsecond=0)


def client_with_cnpj(partner, plan, cnpj):
    row = ClientFactory(partner=partner, plan=plan, cnpj=cnpj)
    _db.session.commit()
    return row


# -- the real certificates of ../shared/fixtures/certificates ------------------------------------------


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_fixture_certificate_accepted_for_its_cnpj(name, login_as, manager, partner, plan, at_2026):
    cnpj, shown = ACCEPTED[name]
    row = client_with_cnpj(partner, plan, cnpj)
    http = login_as(manager)
    response = upload(http, row.id, fixture_bytes(name), PASSWORDS[name], filename=name)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clientes/{row.id}?tab=certificado#configuracoes")
    page = http.get(f"/clientes/{row.id}?tab=certificado").get_data(as_text=True)
    assert shown in page
    assert PASSWORDS[name] not in page
    cert = services.active_certificate(row.id)
    assert cert.cnpj == cnpj and cert.is_active and cert.uploaded_by_id == manager.id
    assert services.decrypt_certificate(cert) == (fixture_bytes(name), PASSWORDS[name])


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fixture_certificate_refused_with_its_message(name, login_as, manager, partner, plan, at_2026):
    cnpj, field, message = REFUSED[name]
    row = client_with_cnpj(partner, plan, cnpj)
    before = count(Certificate)
    response = upload(login_as(manager), row.id, fixture_bytes(name), PASSWORDS[name], filename=name)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, field)
    assert "Senha do certificado incorreta" not in html  # the associacao file is not "wrong password"
    assert PASSWORDS[name] not in html
    assert count(Certificate) == before
    assert services.active_certificate(row.id) is None


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("name", sorted(PASSWORDS))
def test_every_fixture_with_a_wrong_password_says_so_next_to_the_password(name, login_as, manager, partner, plan):
    row = client_with_cnpj(partner, plan, "06157250000116")
    response = upload(login_as(manager), row.id, fixture_bytes(name), "not-the-password", filename=name)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "password") == "Senha do certificado incorreta."
    assert count(Certificate) == 0


# -- generated certificates ----------------------------------------------------------------------------


def generated_cases():
    now = pfxgen.utcnow()
    return {
        "expired": (pfxgen.ecnpj_pfx(not_before=now - timedelta(days=400), not_after=now - timedelta(days=10)),
                    "file", "O certificado expirou em "),
        "not_yet_valid": (pfxgen.ecnpj_pfx(not_before=now + timedelta(days=3)), "file",
                          "O certificado ainda não é válido (válido a partir de "),
        "mismatched_key": (pfxgen.mismatched_key_pfx(), "file",
                           "A chave privada do arquivo não corresponde ao certificado."),
        "wrong_cnpj": (pfxgen.ecnpj_pfx(pfxgen.OTHER_VALID_CNPJ), "file",
                       "O CNPJ do certificado (06.157.250/0001-16) não corresponde ao CNPJ do cliente (11.222.333/0001-81)."),
        "ecpf": (pfxgen.ecpf_pfx(), "file", "um e-CPF não é aceito"),
        "no_key": (pfxgen.pfx_without_key(), "file", "não contém a chave privada"),
        "huge": (os.urandom(70 * 1024), "file", "O arquivo excede o tamanho máximo de 64 KB."),
        "random_bytes": (os.urandom(2000), "file", "não é um certificado A1 no formato PFX"),
        "empty": (b"", "file", "O arquivo está vazio."),
        "pem_instead_of_pfx": (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "file",
                               "não é um certificado A1 no formato PFX"),
    }


CASES = sorted(generated_cases())


@pytest.mark.parametrize("case", CASES)
def test_generated_certificate_refused_with_its_message(case, login_as, manager, ecnpj_client):
    data, field, message = generated_cases()[case]
    response = upload(login_as(manager), ecnpj_client.id, data)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)
    assert "Senha do certificado incorreta" not in response.get_data(as_text=True)
    assert count(Certificate) == 0


# The generated twins of the real-certificate tests above: the CNPJ in the ICP-Brasil OID or only in the CN,
# encoded as cryptography does or as older Java exporters do.
GENERATED_ACCEPTED = {
    "oid": lambda: pfxgen.ecnpj_pfx(in_cn=False),
    "cn_only": lambda: pfxgen.ecnpj_pfx(in_oid=False),
    "java_like": lambda: pfxgen.make_pfx(
        pfxgen.rsa_key(), pfxgen.make_certificate(f"{pfxgen.COMPANY}:{pfxgen.VALID_CNPJ}"),
        extra_certs=[pfxgen.issuing_ca()], mac_hash=hashes.SHA1(), kdf_rounds=100_000),
}


@pytest.mark.parametrize("case", sorted(GENERATED_ACCEPTED))
def test_generated_certificate_accepted_for_its_cnpj(case, login_as, manager, ecnpj_client):
    data = GENERATED_ACCEPTED[case]()
    http = login_as(manager)
    response = upload(http, ecnpj_client.id, data, filename=f"{case}.pfx")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clientes/{ecnpj_client.id}?tab=certificado#configuracoes")
    page = http.get(f"/clientes/{ecnpj_client.id}?tab=certificado").get_data(as_text=True)
    assert "Parabéns! Certificado válido até" in page and pfxgen.PASSWORD not in page
    cert = services.active_certificate(ecnpj_client.id)
    assert cert.cnpj == pfxgen.VALID_CNPJ and cert.is_active and cert.uploaded_by_id == manager.id
    assert services.decrypt_certificate(cert) == (data, pfxgen.PASSWORD)


@pytest.mark.parametrize("case", ["ecnpj", "java_like", "unparseable"])
def test_every_generated_file_with_a_wrong_password_says_so_next_to_the_password(case, login_as, manager,
                                                                                 ecnpj_client):
    data = pfxgen.unparseable_pfx() if case == "unparseable" else (GENERATED_ACCEPTED.get(case) or pfxgen.ecnpj_pfx)()
    response = upload(login_as(manager), ecnpj_client.id, data, "not-the-password")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "password") == "Senha do certificado incorreta."
    assert count(Certificate) == 0


def test_generated_ecnpj_with_icp_oid_is_accepted(login_as, manager, ecnpj_client):
    not_after = in_days(300)
    data = pfxgen.ecnpj_pfx(in_cn=False, not_after=not_after)  # the CNPJ only in otherName 2.16.76.1.3.3
    http = login_as(manager)
    assert upload(http, ecnpj_client.id, data).status_code == 302
    page = http.get(f"/clientes/{ecnpj_client.id}?tab=certificado").get_data(as_text=True)
    assert f"Parabéns! Certificado válido até {not_after:%d/%m/%Y}" in page
    assert "11.222.333/0001-81" in page
    cert = services.active_certificate(ecnpj_client.id)
    assert cert.not_after == not_after
    event_ = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.uploaded"))
    assert event_.client_id == ecnpj_client.id and event_.after["fingerprint_sha256"] == cert.fingerprint_sha256


def test_certificate_with_explicit_critical_false_is_accepted(login_as, manager, ecnpj_client):
    # Older CA software wrote critical=FALSE out; OpenSSL reads such files and so must we (issue 9).
    not_before = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    not_after = not_before + timedelta(days=365)
    data, der = pfxgen.explicit_false_pfx(ecnpj_client.cnpj, not_before=not_before, not_after=not_after)
    http = login_as(manager)
    response = upload(http, ecnpj_client.id, data)
    assert response.status_code == 302
    page = http.get(f"/clientes/{ecnpj_client.id}?tab=certificado").get_data(as_text=True)
    assert f"Parabéns! Certificado válido até {pfx._br_date(not_after)}" in page
    cert = services.active_certificate(ecnpj_client.id)
    assert (cert.cnpj, cert.not_before, cert.not_after) == (ecnpj_client.cnpj, not_before, not_after)
    assert cert.fingerprint_sha256 == hashlib.sha256(der).hexdigest()
    assert services.decrypt_certificate(cert) == (data, pfxgen.PASSWORD)
    event_ = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.uploaded"))
    assert event_.client_id == ecnpj_client.id and event_.actor_id == manager.id
    assert event_.after["fingerprint_sha256"] == cert.fingerprint_sha256


def test_no_file_chosen(login_as, manager, ecnpj_client):
    response = upload(login_as(manager), ecnpj_client.id, None)
    assert response.status_code == 422
    assert "Escolha o arquivo do certificado" in field_error(response.get_data(as_text=True), "file")


def test_a_request_over_the_global_limit_is_413_and_stores_nothing(login_as, manager, ecnpj_client):
    body = b"--x\r\n" + b"x" * (3 * 1024 * 1024)  # the server stops at Content-Length, before parsing
    response = login_as(manager).post(f"/clientes/{ecnpj_client.id}/certificado", data=body,
                                      content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413
    assert count(Certificate) == 0


def test_replacing_keeps_the_history(login_as, manager, ecnpj_client):
    http = login_as(manager)
    first_end, second_end = in_days(200), in_days(400)
    assert upload(http, ecnpj_client.id, pfxgen.ecnpj_pfx(not_after=first_end)).status_code == 302
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):
        assert upload(http, ecnpj_client.id, pfxgen.ecnpj_pfx(not_after=second_end)).status_code == 302
    rows = services.certificate_history(ecnpj_client.id)
    assert [r.not_after for r in rows] == [second_end, first_end]
    assert [r.is_active for r in rows] == [True, False]
    assert rows[1].replaced_at is not None
    http = login_as(manager)  # the session cookie signed "in the future" is not valid back in the present
    page = http.get(f"/clientes/{ecnpj_client.id}?tab=certificado").get_data(as_text=True)
    assert f"Parabéns! Certificado válido até {second_end:%d/%m/%Y}" in page
    assert 'data-testid="certificate-history"' in page and "Substituído em" in page
    # a failed replacement leaves the active one alone
    assert upload(http, ecnpj_client.id, os.urandom(100)).status_code == 422
    assert services.active_certificate(ecnpj_client.id).not_after == second_end
    assert count(Certificate) == 2


def test_the_database_allows_one_active_certificate_per_client(ecnpj_client, db):
    from sqlalchemy.exc import IntegrityError

    store_certificate(ecnpj_client)
    db.session.commit()
    clone = services.active_certificate(ecnpj_client.id)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Certificate(**{c.key: getattr(clone, c.key) for c in Certificate.__table__.columns
                                      if c.key != "id"}))


@pytest.mark.parametrize(("days_before", "status", "text"), [
    (45, "valid", "Parabéns! Certificado válido até 11/12/2026"),
    (10, "expiring", "Atenção: o certificado vence em 10 dias (11/12/2026)."),
    (1, "expiring", "Atenção: o certificado vence em 1 dia (11/12/2026)."),
    (-3, "expired", "O certificado venceu em 11/12/2026."),
])
def test_tab_shows_validity_or_the_problem(days_before, status, text, login_as, manager, ecnpj_client, db):
    not_after = datetime(2026, 12, 11, 15, tzinfo=UTC)
    store_certificate(ecnpj_client, not_before=datetime(2026, 1, 1, tzinfo=UTC), not_after=not_after)
    db.session.commit()
    with time_machine.travel(not_after - timedelta(days=days_before), tick=False):
        page = login_as(manager).get(f"/clientes/{ecnpj_client.id}?tab=certificado").get_data(as_text=True)
    assert f'data-status="{status}"' in page
    assert text in page


def test_tab_without_certificate_invites_the_upload(login_as, manager, client_row):
    page = login_as(manager).get(f"/clientes/{client_row.id}?tab=certificado").get_data(as_text=True)
    assert 'data-status="none"' in page
    for label in ("Escolher arquivo", "Senha do arquivo PFX", "Enviar certificado!"):
        assert label in page


def test_the_password_is_never_logged_or_shown(login_as, manager, ecnpj_client, caplog):
    secret = "Senha-Que-Nunca-Aparece-71"
    caplog.set_level(logging.DEBUG)
    http = login_as(manager)
    wrong = upload(http, ecnpj_client.id, pfxgen.ecnpj_pfx(password=secret), "Outra-Senha-Errada-72")
    refused = upload(http, ecnpj_client.id, os.urandom(300), secret)
    accepted = upload(http, ecnpj_client.id, pfxgen.ecnpj_pfx(password=secret), secret)
    page = http.get(f"/clientes/{ecnpj_client.id}?tab=certificado")
    assert (wrong.status_code, refused.status_code, accepted.status_code) == (422, 422, 302)
    for response in (wrong, refused, accepted, page):
        assert secret not in response.get_data(as_text=True)
        assert "Outra-Senha-Errada-72" not in response.get_data(as_text=True)
    assert secret not in caplog.text and "Outra-Senha-Errada-72" not in caplog.text
    events = _db.session.scalars(select(AuditEvent)).all()
    assert events and all(secret not in repr((e.before, e.after)) for e in events)


# -- partner API -------------------------------------------------------------------------------------------


def put(http, headers, client_id, data, password=pfxgen.PASSWORD):
    form = {"password": password}
    if data is not None:
        form["file"] = (io.BytesIO(data), "cert.pfx")
    return http.put(f"/api/v1/clients/{client_id}/certificate", data=form, headers=headers,
                    content_type="multipart/form-data")


def test_api_put_and_get_certificate(partner_api, ecnpj_client):
    http, headers = partner_api
    url = f"/api/v1/clients/{ecnpj_client.id}/certificate"
    assert http.get(url, headers=headers).get_json() == {
        "status": "none", "cnpj": None, "subject": None, "not_before": None, "not_after": None,
        "fingerprint_sha256": None, "days_left": None,
    }
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=200)
    response = put(http, headers, ecnpj_client.id, pfxgen.ecnpj_pfx(not_after=not_after))
    assert response.status_code == 200
    body = http.get(url, headers=headers).get_json()
    cert = services.active_certificate(ecnpj_client.id)
    assert body == response.get_json()
    assert body["status"] == "valid" and body["cnpj"] == pfxgen.VALID_CNPJ
    assert body["not_after"] == not_after.isoformat()
    assert body["fingerprint_sha256"] == cert.fingerprint_sha256
    assert "CN=EMPRESA X LTDA:11222333000181" in body["subject"]
    assert pfxgen.PASSWORD not in response.get_data(as_text=True)
    assert set(body) == {"status", "cnpj", "subject", "not_before", "not_after", "fingerprint_sha256", "days_left"}
    event_ = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.uploaded"))
    assert event_.actor_label.startswith("api:")


@pytest.mark.parametrize(("case", "code", "field"), [
    ("wrong_password", "certificate_wrong_password", "password"),
    ("random", "certificate_not_pkcs12", "file"),
    ("wrong_cnpj", "certificate_cnpj_mismatch", "file"),
    ("missing", "validation_error", "file"),
])
def test_api_put_refusals_are_422_and_store_nothing(case, code, field, partner_api, ecnpj_client):
    http, headers = partner_api
    data, password = {
        "wrong_password": (pfxgen.ecnpj_pfx(), "errada"),
        "random": (os.urandom(500), pfxgen.PASSWORD),
        "wrong_cnpj": (pfxgen.ecnpj_pfx(pfxgen.OTHER_VALID_CNPJ), pfxgen.PASSWORD),
        "missing": (None, pfxgen.PASSWORD),
    }[case]
    response = put(http, headers, ecnpj_client.id, data, password)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == code and field in error["fields"] and error["message"]
    assert count(Certificate) == 0


@pytest.mark.parametrize(("days_left", "status"), [(31, "valid"), (30, "expiring"), (2, "expiring"), (0, "expired")])
def test_api_status_thresholds(days_left, status, partner_api, ecnpj_client, db):
    http, headers = partner_api
    not_after = datetime(2026, 12, 11, 15, tzinfo=UTC)
    store_certificate(ecnpj_client, not_before=datetime(2026, 1, 1, tzinfo=UTC), not_after=not_after)
    db.session.commit()
    with time_machine.travel(not_after - timedelta(days=days_left), tick=False):
        body = http.get(f"/api/v1/clients/{ecnpj_client.id}/certificate", headers=headers).get_json()
    assert body["status"] == status


# -- dashboard badges -----------------------------------------------------------------------------------


def test_dashboard_certificate_column_and_filter(login_as, manager, partner, plan, db):
    from core.db import utcnow

    expiring, expired, healthy, none = (ClientFactory(partner=partner, plan=plan) for _ in range(4))
    now = utcnow()
    start = now - timedelta(days=300)
    store_certificate(expiring, not_before=start, not_after=now + timedelta(days=12, hours=3))
    store_certificate(expired, not_before=start, not_after=now - timedelta(days=2))
    store_certificate(healthy, not_before=start, not_after=now + timedelta(days=90))
    db.session.commit()
    http = login_as(manager)
    html = http.get("/painel").get_data(as_text=True)

    def cell_of(client_row, page=html):
        row = page.split(f'data-client-id="{client_row.id}"', 1)[1].split("</tr>", 1)[0]
        return row.split('data-column="certificate">', 1)[1].split("</td>", 1)[0]

    valid_until = (now + timedelta(days=90)).astimezone(ZoneInfo("America/Sao_Paulo")).strftime("%d/%m/%Y")
    assert "<th>Certificado</th>" in html
    assert "expira em 13 dias" in cell_of(expiring) and "text-bg-warning" in cell_of(expiring)
    assert "vencido" in cell_of(expired) and "text-bg-danger" in cell_of(expired)
    assert f"válido até {valid_until}" in cell_of(healthy) and "text-bg-success" in cell_of(healthy)
    assert "sem certificado" in cell_of(none)

    def ids(value):
        page = http.get(f"/painel?certificado={value}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'data-client-id="(\d+)"', page)}

    mine = {expiring.id, expired.id, healthy.id, none.id}
    assert ids("valid") & mine == {healthy.id}
    assert ids("expiring") & mine == {expiring.id}
    assert ids("expired") & mine == {expired.id}
    assert ids("none") & mine == {none.id}
    assert ids("nonsense") & mine == mine  # an unknown value filters nothing


def test_the_certificate_column_costs_no_query_per_row(login_as, manager, partner, plan, db):
    from core.db import utcnow

    http = login_as(manager)
    ClientFactory(partner=partner, plan=plan)
    db.session.commit()

    def queries():
        with statements_sent(db.session.get_bind()) as statements:
            assert http.get("/painel").status_code == 200
        return len(statements)

    one = queries()
    now = utcnow()
    for _ in range(6):
        row = ClientFactory(partner=partner, plan=plan)
        store_certificate(row, not_before=now - timedelta(days=10), not_after=now + timedelta(days=5))
    db.session.commit()
    assert queries() == one


def test_flag_provider_runs_one_query(partner, plan, db):
    rows = [ClientFactory(partner=partner, plan=plan) for _ in range(4)]
    for row in rows:
        store_certificate(row, not_before=datetime(2026, 1, 1, tzinfo=UTC), not_after=datetime(2026, 2, 1, tzinfo=UTC))
    db.session.flush()
    with statements_sent(db.session.get_bind()) as statements:
        flags = services.certificate_flags([r.id for r in rows], now=datetime(2026, 3, 1, tzinfo=UTC))
    assert len(statements) == 1
    assert {client_id: [f.label for f in items] for client_id, items in flags.items()} == {
        r.id: ["Certificado vencido"] for r in rows
    }


def test_a_concurrent_upload_is_a_409_and_keeps_one_active(login_as, manager, partner_api, ecnpj_client, db,
                                                          monkeypatch):
    first = store_certificate(ecnpj_client)
    db.session.commit()
    # As if another request had inserted its certificate after this one looked for the active one.
    monkeypatch.setattr(services, "active_certificate", lambda client_id: None)
    panel = upload(login_as(manager), ecnpj_client.id, pfxgen.ecnpj_pfx())
    http, headers = partner_api
    api = put(http, headers, ecnpj_client.id, pfxgen.ecnpj_pfx())
    assert panel.status_code == 409 and "ao mesmo tempo" in panel.get_data(as_text=True)
    assert api.status_code == 409 and api.get_json()["error"]["code"] == "conflict"
    monkeypatch.undo()
    assert services.active_certificate(ecnpj_client.id).id == first.id
    assert count(Certificate) == 1
