"""Partner API: signup links, status, plan, payer, history; 401 / 404 / 409 / 422; tenancy; OpenAPI."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from contracts import services
from contracts.models import AcceptanceChannel, ContractEvent, LinkState, SignupLink
from partner.models import ContractStatus, Payer
from tests.contracts.helpers import path_of
from tests.factories import ClientFactory, PlanFactory

LINK_KEYS = {"id", "url", "plan_id", "payer", "state", "expires_at", "client_id"}


def error_of(response):
    return response.get_json()["error"]


def test_create_and_list_links(db, api, plan, partner):
    response = api.post("/api/v1/signup-links", json={"plan_id": plan.id, "payer": "partner", "trial_days": 7,
                                                      "client_email": "Novo@Cliente.example"})
    assert response.status_code == 201
    data = response.get_json()
    assert LINK_KEYS <= set(data)
    assert (data["plan_id"], data["payer"], data["state"], data["client_id"]) == (plan.id, "partner", "pending", None)
    assert data["trial_days"] == 7 and data["client_email"] == "novo@cliente.example"
    link = db.session.get(SignupLink, data["id"])
    assert path_of(data["url"]) == path_of(services.link_url(link)) and data["url"].startswith("http")
    assert link.partner_id == partner.id and link.created_by_id is None

    listing = api.get("/api/v1/signup-links").get_json()
    assert listing["total"] == 1 and listing["items"][0] == data
    assert api.get("/api/v1/signup-links?state=used").get_json()["total"] == 0


def test_link_states_through_the_api(db, api, make_link, client_row):
    pending, used, revoked, expired = (make_link() for _ in range(4))
    used.used_at, used.used_by_client_id = datetime.now(UTC), client_row.id
    services.revoke_signup_link(revoked)
    expired.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.flush()
    for link, state in ((pending, "pending"), (used, "used"), (revoked, "revoked"), (expired, "expired")):
        items = api.get(f"/api/v1/signup-links?state={state}").get_json()["items"]
        assert [i["id"] for i in items] == [link.id]
        assert items[0]["state"] == state
    used_json = api.get("/api/v1/signup-links?state=used").get_json()["items"][0]
    assert used_json["client_id"] == client_row.id and used_json["url"] is None


def test_create_link_validation_is_422_and_saves_nothing(db, api, committed):
    committed()
    response = api.post("/api/v1/signup-links", json={"plan_id": 0, "payer": "x", "trial_days": 500})
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"plan_id", "payer", "trial_days"}
    assert db.session.scalar(select(func.count(SignupLink.id))) == 0
    assert api.post("/api/v1/signup-links", data="não é json", content_type="application/json").status_code == 422
    assert api.get("/api/v1/signup-links?state=sumido").status_code == 422


def test_revoke_link(db, api, make_link, committed):
    link = make_link()
    committed()
    response = api.delete(f"/api/v1/signup-links/{link.id}")
    assert response.status_code == 200 and response.get_json()["state"] == "revoked"
    again = api.delete(f"/api/v1/signup-links/{link.id}")
    assert again.status_code == 409 and error_of(again)["code"] == "contract_error"


def test_other_partners_rows_are_404(db, api, other_partner, plan, other_client, committed):
    other_link = services.create_signup_link(other_partner, {"plan_id": plan.id, "payer": "client"})
    committed()
    assert api.delete(f"/api/v1/signup-links/{other_link.id}").status_code == 404
    assert api.get("/api/v1/signup-links").get_json()["total"] == 0
    for method, url, body in (
        ("post", f"/api/v1/clients/{other_client.id}/status", {"status": "blocked", "reason": "manual"}),
        ("post", f"/api/v1/clients/{other_client.id}/plan", {"plan_id": plan.id}),
        ("post", f"/api/v1/clients/{other_client.id}/payer", {"payer": "partner"}),
        ("get", f"/api/v1/clients/{other_client.id}/history", None),
        ("get", f"/api/v1/clients/{other_client.id}/contract", None),
        ("post", "/api/v1/clients/999999/status", {"status": "blocked", "reason": "manual"}),
    ):
        response = getattr(api, method)(url, **({"json": body} if body else {}))
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    db.session.refresh(other_client)
    assert other_client.status == ContractStatus.ACTIVE and other_link.revoked_at is None


@pytest.mark.parametrize("url", [
    "/api/v1/signup-links", "/api/v1/clients/1/history",
])
def test_no_token_is_401(db, client, url):
    response = client.get(url)
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"
    assert client.get(url, headers={"Authorization": "Bearer rvp_nada"}).status_code == 401


def test_status_change(db, api, client_row):
    response = api.post(f"/api/v1/clients/{client_row.id}/status",
                        json={"status": "blocked", "reason": "non_payment", "note": "3 faturas"})
    assert response.status_code == 200
    data = response.get_json()
    assert (data["status"], data["status_reason"]) == ("blocked", "non_payment")
    event = db.session.scalar(select(ContractEvent).where(ContractEvent.client_id == client_row.id))
    assert event.actor_label.startswith("api:") and event.note == "3 faturas"


def test_forbidden_transition_is_409_naming_the_allowed_ones(db, api, partner, plan, committed):
    cancelled = ClientFactory(partner=partner, plan=plan, status=ContractStatus.CANCELLED)
    committed()
    response = api.post(f"/api/v1/clients/{cancelled.id}/status", json={"status": "blocked", "reason": "manual"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "forbidden_transition" and error["allowed"] == ["active"]
    assert "Permitido: Efetivado" in error["fields"]["status"]


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "blocked"}, "reason"),
    ({"status": "cancelled", "reason": "tedio"}, "reason"),
    ({"status": "pausado"}, "status"),
])
def test_status_validation_is_422(db, api, client_row, committed, body, field):
    committed()
    response = api.post(f"/api/v1/clients/{client_row.id}/status", json=body)
    assert response.status_code == 422 and field in error_of(response)["fields"]
    db.session.refresh(client_row)
    assert client_row.status == ContractStatus.ACTIVE


def test_plan_change_now_and_next_cycle(db, api, client_row, plan):
    diamante = PlanFactory(software=plan.software, name="Diamante", price_cents=19990)
    today = datetime.now(UTC).date().replace(day=20)  # the 20th of this month, 14:00 UTC (11:00 in São Paulo)
    with time_machine.travel(datetime(today.year, today.month, 20, 14, tzinfo=UTC), tick=False):
        scheduled = api.post(f"/api/v1/clients/{client_row.id}/plan",
                             json={"plan_id": diamante.id, "when": "next_cycle"}).get_json()
    first = (today + timedelta(days=15)).replace(day=1)  # the 1st of next month, 00:00 in São Paulo (UTC-3)
    assert scheduled["plan_id"] == plan.id
    assert scheduled["pending_plan_change"] == {"plan_id": diamante.id, "effective_at": f"{first}T03:00:00+00:00"}
    cancelled = api.delete(f"/api/v1/clients/{client_row.id}/plan/pending")
    assert cancelled.status_code == 200 and cancelled.get_json()["pending_plan_change"] is None
    now = api.post(f"/api/v1/clients/{client_row.id}/plan", json={"plan_id": diamante.id})
    assert now.status_code == 200
    assert now.get_json()["plan_id"] == diamante.id and now.get_json()["monthly_price_cents"] == 19990


def test_plan_validation_is_422(db, api, client_row, committed):
    committed()
    response = api.post(f"/api/v1/clients/{client_row.id}/plan", json={"plan_id": "x"})
    assert response.status_code == 422 and "plan_id" in error_of(response)["fields"]
    response = api.post(f"/api/v1/clients/{client_row.id}/plan", json={"plan_id": client_row.plan_id, "when": "já"})
    assert response.status_code == 422 and "when" in error_of(response)["fields"]


def test_payer_change(db, api, client_row, committed):
    response = api.post(f"/api/v1/clients/{client_row.id}/payer", json={"payer": "partner"})
    assert response.status_code == 200
    assert response.get_json()["payer"] == "partner" and response.get_json()["monthly_price_cents"] == 5995
    assert client_row.payer == Payer.PARTNER
    committed()
    bad = api.post(f"/api/v1/clients/{client_row.id}/payer", json={"payer": "ninguem"})
    assert bad.status_code == 422 and "payer" in error_of(bad)["fields"]


def test_history(db, api, client_row):
    api.post(f"/api/v1/clients/{client_row.id}/status", json={"status": "blocked", "reason": "manual"})
    api.post(f"/api/v1/clients/{client_row.id}/payer", json={"payer": "partner"})
    response = api.get(f"/api/v1/clients/{client_row.id}/history")
    assert response.status_code == 200
    data = response.get_json()
    assert data["total"] == 2
    latest, first = data["items"]
    assert set(latest) == {"at", "actor", "action", "before", "after"}
    assert latest["action"] == "contract.payer_changed" and latest["after"]["payer"] == "partner"
    assert first["action"] == "contract.status_changed" and first["before"]["status"] == "active"
    assert first["after"] == {"status": "blocked", "status_reason": "manual"}
    assert latest["actor"].startswith("api:")
    assert api.get(f"/api/v1/clients/{client_row.id}/history?per_page=1").get_json()["items"] == [latest]


def test_resend_acceptance_through_the_api(db, api, client_row, inbox, deliver_mail, committed):
    response = api.post(f"/api/v1/clients/{client_row.id}/acceptance-email")
    assert response.status_code == 202
    deliver_mail()
    inbox.wait_for(1)
    assert inbox.to(client_row.email)[0]["Subject"].startswith("Aceite do contrato")
    services.accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None)
    committed()
    assert api.post(f"/api/v1/clients/{client_row.id}/acceptance-email").status_code == 409
    contract = api.get(f"/api/v1/clients/{client_row.id}/contract").get_json()
    assert contract["terms_version"] == "v1" and contract["accepted_at"]


def test_openapi_documents_every_contract_endpoint(db, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/signup-links", "post"), ("/api/v1/signup-links", "get"),
        ("/api/v1/signup-links/{link_id}", "delete"), ("/api/v1/clients/{client_id}/status", "post"),
        ("/api/v1/clients/{client_id}/plan", "post"), ("/api/v1/clients/{client_id}/payer", "post"),
        ("/api/v1/clients/{client_id}/history", "get"), ("/api/v1/clients/{client_id}/plan/pending", "delete"),
        ("/api/v1/clients/{client_id}/contract", "get"), ("/api/v1/clients/{client_id}/acceptance-email", "post"),
    ):
        assert method in paths[path], (path, method)
    assert set(spec["components"]["schemas"]["SignupLink"]["required"]) == LINK_KEYS
    assert spec["components"]["schemas"]["HistoryEntry"]["required"] == ["at", "actor", "action", "before", "after"]
    conflict = paths["/api/v1/clients/{client_id}/status"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("TransitionConflict")
    assert LinkState.PENDING.value in spec["components"]["schemas"]["SignupLink"]["properties"]["state"]["enum"]
