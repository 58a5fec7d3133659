"""The Content-Security-Policy allows no inline script: everything the pages do still works in
Chromium with no violation (the autouse ``no_csp_violation`` fixture fails the test on any):
copy buttons, the QR code, the plan price preview, the staff admin's filters and actions menu and
its confirmation dialogs, and a narrow (mobile) viewport."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.two_factor_steps import pass_two_factor

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, creds, landing):
    page.goto(f"{live_server}/login")
    page.fill("#email", creds["email"])
    page.fill("#password", creds["password"])
    page.get_by_role("button", name="Entrar", exact=True).click()
    pass_two_factor(page, creds["email"], creds["password"])  # staff: a code, or enrolment the first time
    page.wait_for_url(re.compile(landing))


def test_panel_behaviour_works_under_the_policy(login, live_server, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = login("manager")
    response = page.request.get(f"{live_server}/painel")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    page.goto(f"{live_server}/links-de-contratacao")
    form = page.get_by_test_id("new-link-form")
    form.locator("[name=software_id]").select_option(label="FazNota")
    form.locator("[name=plan_id]").select_option(label="Ouro — R$ 119,90")
    expect(form.get_by_test_id("price-preview")).to_contain_text("R$ 119,90")  # app.js ran
    form.get_by_role("button").last.click()
    page.wait_for_url(re.compile(r"/links-de-contratacao/\d+$"))

    qr = page.get_by_test_id("qr")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", qr.element_handle()) > 0, "the QR code (data: URL) loads"
    page.get_by_test_id("copy-link").click()
    expect(page.get_by_test_id("copy-link")).to_contain_text("Copiado!")
    assert page.evaluate("navigator.clipboard.readText()") == page.input_value("#link-url")


def test_narrow_viewport_pages_work_under_the_policy(page, live_server, demo_logins):
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, live_server, demo_logins["users"]["manager"], r"/painel$")
    page.goto(f"{live_server}/clientes/novo")
    page.select_option("[name=software_id]", label="FazNota")
    page.select_option("[name=plan_id]", label="Bronze — R$ 49,90")
    expect(page.get_by_test_id("price-preview")).to_contain_text("R$ 49,90")


def test_staff_admin_works_under_the_policy(page, live_server, demo_logins):
    _sign_in(page, live_server, demo_logins["users"]["admin"], r"/admin/?$")
    page.goto(f"{live_server}/admin/users/")
    page.locator("[data-toggle=dropdown]", has_text=re.compile("selecionado|selected")).click()
    page.once("dialog", lambda dialog: dialog.accept())  # "select at least one record"
    page.locator("[data-admin-action]").first.click()
    expect(page).to_have_url(re.compile(r"/admin/users/"))

    page.goto(f"{live_server}/admin/outbox/")
    page.locator("[data-toggle=dropdown]", has_text=re.compile("filtro|filter", re.IGNORECASE)).click()
    page.locator("a.filter").first.click()
    expect(page.locator(".filter-val").first).to_be_visible()  # Flask-Admin's filters.js ran
    page.locator("a.nav-link.active[href^='javascript:']").first.click()  # "Lista": must not navigate
    expect(page).to_have_url(re.compile(r"/admin/outbox/"))
