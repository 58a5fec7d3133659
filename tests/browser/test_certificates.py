"""Certificates and integration keys in real Chromium: a manager uploads a valid A1 certificate and
sees "Parabéns"; reveals the integration key with the password; rotates it through the confirmation
dialog, and the client's software (the integration API) accepts the new key and, during the grace
period, the old one."""

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "certificates"))
import pfxgen  # noqa: E402  (the certificate generators of tests/certificates)

pytestmark = pytest.mark.browser

CLIENT = "Padaria Pão Quente Ltda"  # demo client of the demo manager's partner
CLIENT_CNPJ = "34028316000103"
KEY_RE = re.compile(r"rvk_live_[A-Za-z0-9_-]{43}")


def open_tab(page, tab_label: str):
    page.get_by_test_id("clients-table").locator("tr", has_text=CLIENT).get_by_role("link", name="Gerenciar").click()
    page.wait_for_url(re.compile(r"/clientes/\d+$"))
    page.locator("#configuracoes").get_by_role("link", name=tab_label).click()
    page.wait_for_url(re.compile(r"tab="))


def test_manager_uploads_a_valid_certificate_and_sees_parabens(login, tmp_path):
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    pfx = tmp_path / "certificado-a1.pfx"
    pfx.write_bytes(pfxgen.ecnpj_pfx(CLIENT_CNPJ, not_after=not_after, password="senha-do-pfx"))
    page = login("manager")
    open_tab(page, "Certificado digital")

    tab = page.get_by_test_id("certificate-tab")
    # a wrong password first: the message sits next to the password field and nothing changes
    tab.get_by_label("Escolher arquivo").set_input_files(str(pfx))
    tab.get_by_label("Senha do arquivo PFX").fill("senha-errada")
    tab.get_by_role("button", name="Enviar certificado!").click()
    expect(page.locator('[data-field-error="password"]')).to_have_text("Senha do certificado incorreta.")
    expect(page.get_by_test_id("certificate-refused")).to_be_visible()

    tab = page.get_by_test_id("certificate-tab")
    tab.get_by_label("Escolher arquivo").set_input_files(str(pfx))
    tab.get_by_label("Senha do arquivo PFX").fill("senha-do-pfx")
    tab.get_by_role("button", name="Enviar certificado!").click()
    page.wait_for_url(re.compile(r"tab=certificado"))
    expected = not_after.astimezone(ZoneInfo("America/Sao_Paulo")).strftime("%d/%m/%Y")
    expect(page.get_by_test_id("certificate-status")).to_have_text(
        re.compile(rf"Parabéns! Certificado válido até {re.escape(expected)}")
    )
    expect(page.get_by_test_id("certificate-details")).to_contain_text("34.028.316/0001-03")
    assert "senha-do-pfx" not in page.content()


def test_manager_reveals_and_rotates_the_integration_key(login, live_server, demo_logins, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = login("manager")
    open_tab(page, "Chave de integração")
    # Opening the tab creates nothing: a GET must not write. The button does, and shows the key once.
    expect(page.get_by_test_id("no-key")).to_contain_text("Nenhuma chave gerada")
    page.reload()
    expect(page.get_by_test_id("no-key")).to_be_visible()
    page.get_by_role("button", name="Gerar chave", exact=True).click()
    expect(page.get_by_test_id("key-created")).to_contain_text("Chave gerada")
    first_key = page.get_by_test_id("key-value").input_value()
    assert KEY_RE.fullmatch(first_key)
    page.get_by_test_id("back-to-client").click()
    masked = page.get_by_test_id("masked-key").input_value()
    assert masked.endswith(first_key[-4:])
    assert "•" in masked and not KEY_RE.search(masked)

    page.get_by_label("Para revelar a chave, digite sua senha").fill(demo_logins["users"]["manager"]["password"])
    page.get_by_role("button", name="Revelar").click()
    old_key = page.get_by_test_id("key-value").input_value()
    assert KEY_RE.fullmatch(old_key) and old_key.endswith(masked[-4:])
    page.get_by_test_id("copy-key").click()
    expect(page.get_by_test_id("copy-key")).to_have_text("Copiado!")
    assert page.evaluate("navigator.clipboard.readText()") == old_key
    page.get_by_test_id("back-to-client").click()

    # Dismissing the confirmation keeps the key.
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Gerar nova chave").click()
    expect(page.get_by_test_id("masked-key")).to_have_value(masked)
    assert dialogs and "deixará de funcionar" in dialogs[0]

    page.get_by_label("1 hora").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Gerar nova chave").click()
    expect(page.get_by_test_id("key-rotated")).to_contain_text("Nova chave gerada")
    expect(page.get_by_test_id("key-rotated")).to_contain_text("A chave anterior continua funcionando até")
    new_key = page.get_by_test_id("key-value").input_value()
    assert KEY_RE.fullmatch(new_key) and new_key != old_key

    # The client's software: the new key works, the old one too during its hour of grace.
    for key in (new_key, old_key):
        response = page.request.get(f"{live_server}/api/v1/integration/me", headers={"Authorization": f"Bearer {key}"})
        assert response.status == 200 and response.json()["client"]["cnpj"] == CLIENT_CNPJ
    bad = page.request.get(f"{live_server}/api/v1/integration/me", headers={"Authorization": "Bearer rvk_live_x"})
    assert bad.status == 401

    page.get_by_test_id("back-to-client").click()
    expect(page.get_by_test_id("keys-in-grace")).to_contain_text(old_key[-4:])
    expect(page.get_by_test_id("masked-key")).to_have_value(re.compile(re.escape(new_key[-4:]) + "$"))
