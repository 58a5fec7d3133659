"""Staff admin: links and acceptances read-only and without secrets; terms published by admins."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from contracts import services
from contracts.models import AcceptanceChannel, TermsVersion


@pytest.fixture
def rows(db, make_link, client_row):
    link = make_link(client_email="dono@cliente.example")
    acceptance = services.accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip="203.0.113.1",
                                       user_agent="Firefox")
    return link, acceptance


@pytest.mark.parametrize("role", ["admin_user", "finance_user"])
def test_staff_reads_links_and_acceptances_without_tokens(request, rows, as_user, role):
    link, acceptance = rows
    client = as_user(request.getfixturevalue(role))
    for url in ("/admin/admin_signup_links/", f"/admin/admin_signup_links/details/?id={link.id}",
                "/admin/admin_signup_links/export/csv/", "/admin/admin_acceptances/",
                f"/admin/admin_acceptances/details/?id={acceptance.id}", "/admin/admin_contract_events/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert link.token_hash not in html and link.nonce not in html
        assert services.link_token(link) not in html
    details = client.get(f"/admin/admin_acceptances/details/?id={acceptance.id}").get_data(as_text=True)
    assert acceptance.text_sha256 in details and "203.0.113.1" in details


def test_links_cannot_be_edited_or_created(rows, as_user, admin_user):
    link, _acceptance = rows
    client = as_user(admin_user)
    assert client.get(f"/admin/admin_signup_links/edit/?id={link.id}").status_code in (302, 403, 404)
    assert client.get("/admin/admin_signup_links/new/").status_code in (302, 403, 404)


def test_admin_publishes_terms_with_their_hash(db, as_user, admin_user):
    client = as_user(admin_user)
    assert client.get("/admin/admin_terms/new/").status_code == 200
    published = (datetime.now(UTC) + timedelta(days=4)).replace(hour=0, minute=0, second=0, microsecond=0)
    response = client.post("/admin/admin_terms/new/", data={
        "version": "v2", "published_at": f"{published:%Y-%m-%d %H:%M:%S}", "text": "Cláusula única.\r\nFim."})
    assert response.status_code == 302
    terms = db.session.scalar(select(TermsVersion).where(TermsVersion.version == "v2"))
    assert terms.text == "Cláusula única.\nFim." and terms.sha256 == TermsVersion.hash_text("Cláusula única.\nFim.")
    assert terms.published_at == published
    assert client.get(f"/admin/admin_terms/edit/?id={terms.id}").status_code in (302, 403, 404)
    assert services.current_terms(published + timedelta(days=1)).version == "v2"
    assert services.current_terms(published - timedelta(days=1)).version == "v1"


def test_finance_cannot_publish_terms(db, as_user, finance_user):
    assert as_user(finance_user).get("/admin/admin_terms/").status_code == 403


def test_managers_never_reach_the_admin(rows, as_user, manager):
    assert as_user(manager).get("/admin/admin_signup_links/").status_code == 403
