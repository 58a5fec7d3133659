"""Every kind of audit event, rendered for people, shows no code and no id.

The kinds are found in the source (every ``audit.record(...)``/``_audit(...)`` call and the dynamic
ones), so a new kind without words fails here; each is rendered with a realistic before/after in the
client's history (manager and accountant) and in the staff audit list."""

import re
from html import unescape
from pathlib import Path

import pytest

from billing.models import InvoiceStatus
from core.audit import AuditEvent
from core.audit_words import accountant_actions, is_known_action
from orders.models import OrderStatus
from partner.history import history_rows

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("accounts", "partner", "contracts", "certificates", "billing", "orders", "api", "core", "webhooks")
CALL = re.compile(r"""(?:audit\.record|_audit)\(\s*(f?)"([^"]+)\"""")
LITERAL_ACTION = re.compile(r"""action\s*=\s*(f?)"([^"]+)\"""")
USER_ACTION = re.compile(r'"(user\.[a-z_]+)"')

#: the f-strings, expanded over the values they can take
DYNAMIC = {
    "invoice.{target.value}": {f"invoice.{s.value}" for s in InvoiceStatus},
    "user.{purpose.replace('-', '_')}": {"user.first_access", "user.password_reset"},
    "order.{OrderStatus(target).value}": {f"order.{s.value}" for s in OrderStatus},
}


def recorded_actions() -> set[str]:
    found = set()
    for domain in DOMAINS:
        for path in (ROOT / domain).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for is_f, action in CALL.findall(source) + LITERAL_ACTION.findall(source):
                found |= DYNAMIC[action] if is_f else {action}
            if domain == "accounts":
                found |= set(USER_ACTION.findall(source))
    return {a for a in found if "." in a}


NOW = "2026-06-05T14:56:44+00:00"


def samples(ids) -> dict:
    """A realistic before/after for every kind (what the services record), ids from the test's rows."""
    client_fields = {
        "legal_name": "Padaria Pão Quente Ltda", "trade_name": "Pão Quente", "cnpj": "34028316000103",
        "email": "dono@paoquente.example", "phone": "11987654321", "cep": "01310100", "street": "Av. Paulista",
        "number": "2000", "complement": "", "district": "Bela Vista", "city": "São Paulo", "state": "SP",
        "software_id": ids["software"], "plan_id": ids["plan"], "payer": "partner", "status": "active",
        "accountant_email": None,
    }
    invoice = {"number": "2026-000123", "status": "open", "total_cents": 5995, "due_date": "2026-07-10",
               "paid_at": None, "void_reason": None}
    return {
        # orders first: the client page shows the newest events, which the assertions below read
        **{f"order.{status.value}": ({"status": "awaiting_documentation"}, {"status": status.value})
           for status in OrderStatus},
        "order.created": (None, {"service": "Arquivo XML", "term_months": 12, "amount_cents": 84000, "quota_gb": 5}),
        "order.acceptance_resent": (None, {"email": "dono@paoquente.example"}),
        "order.storage_added": (None, {"gb": 5, "amount_cents": 4356, "quota_gb": 10}),
        "order.renewed": (None, {"amount_cents": 84000, "renews_at": "2027-06-05", "method": "invoice",
                                 "automatic": False}),
        "order.quota_warning": (None, {"threshold": 70, "percent": 72}),
        "order.responsible_added": (None, {"name": "Ana Souza", "email": "ana@paoquente.example"}),
        "order.attachment_added": (None, {"filename": "RG Ana Souza.PDF"}),
        "service.created": (None, {"name": "Arquivo XML", "kind": "xml_storage", "is_active": True,
                                   "terms": {"12": 60000}, "starter_kits_gb": {"5": 1000}, "addons": {"gb": 100}}),
        "service.updated": (None, {"name": "Arquivo XML", "kind": "other", "is_active": False,
                                   "terms": {"24": 108000}, "starter_kits_gb": {}, "addons": {}}),
        "ledger.entry": (None, {"kind": "order_cancelled", "amount_cents": 84000, "reference": "order:12"}),
        "user.login": (None, None),
        "user.created": (None, {"email": "a@b.example", "name": "Ana", "role": "manager", "partner_id": ids["partner"],
                                "is_active": True}),
        "user.updated": ({"role": "finance"}, {"role": "admin"}),
        "user.deactivated": ({"is_active": True}, {"is_active": False}),
        "user.password_changed": (None, None),
        "user.password_reset": (None, None),
        "user.first_access": (None, None),
        "user.reset_link_sent": (None, {"email": "contador@contabil.example"}),
        "client.created": (None, {**client_fields, "trial_ends_at": NOW, "signup_link_id": ids["link"]}),
        "client.updated": ({"email": "velho@x.example", "status": "trial"}, {"email": "novo@x.example", "status": "active"}),
        "client.software_accessed": (None, {"software": "FazNota", "manager": "gestor@alfa.example"}),
        "partner.updated": ({"phone": "1133334444"}, {"phone": "11987654321"}),
        "partner.email_added": (None, {"email": "contato@alfa.example"}),
        "partner.email_removed": ({"email": "contato@alfa.example"}, None),
        "api_token.created": (None, {"name": "ERP", "prefix": "rvp_abc123"}),
        "api_token.revoked": ({"name": "ERP"}, None),
        "accountant.invited": (None, {"email": "contador@contabil.example"}),
        "accountant.resent": (None, {"email": "contador@contabil.example"}),
        "accountant.accepted": (None, {"email": "contador@contabil.example"}),
        "accountant.declined": ({"link_status": "pending"}, {"link_status": "declined", "email": "c@x.example"}),
        "accountant.dropped": ({"link_status": "accepted"}, {"link_status": "declined", "email": "c@x.example"}),
        "accountant.removed": ({"link_status": "accepted"}, {"link_status": "removed", "email": "c@x.example"}),
        "accountant.export_day_changed": (None, {"export_day": 10}),
        "contract.acceptance_requested": (None, {"email": "dono@paoquente.example", "terms_version": "v1"}),
        "contract.accepted": (None, {"terms_version": "v1", "text_sha256": "ab" * 32, "ip": "203.0.113.9",
                                     "channel": "signup"}),
        "contract.payer_changed": ({"payer": "client", "monthly_price_cents": 11990},
                                   {"payer": "partner", "monthly_price_cents": 5995}),
        "contract.plan_changed": ({"plan": "FazNota Prata", "plan_id": ids["plan"], "monthly_price_cents": 7990},
                                  {"plan": "FazNota Ouro", "plan_id": ids["plan"], "monthly_price_cents": 11990}),
        "contract.plan_change_scheduled": ({"plan": "FazNota Prata"}, {"plan": "FazNota Ouro", "effective_at": NOW}),
        "contract.plan_change_cancelled": ({"plan": "FazNota Ouro", "effective_at": NOW}, None),
        "contract.status_changed": ({"status": "active", "status_reason": None},
                                    {"status": "blocked", "status_reason": "non_payment", "note": "Sem pagamento"}),
        "contract.trial_updated": ({"trial_ends_at": NOW, "trial_auto_activate": False},
                                   {"trial_ends_at": NOW, "trial_auto_activate": True}),
        "contract.trial_warning_sent": (None, {"trial_ends_at": NOW}),
        "signup_link.created": (None, {"plan": "FazNota Ouro", "payer": "client", "trial_days": 7,
                                       "client_email": "novo@x.example", "expires_at": NOW}),
        "signup_link.revoked": ({"state": "pending"}, {"state": "revoked"}),
        "signup_link.sent": (None, {"to": "novo@x.example"}),
        "signup_link.used": ({"state": "pending"}, {"state": "used", "client_id": ids["client"]}),
        "certificate.uploaded": ({"fingerprint_sha256": "cd" * 32, "not_after": NOW},
                                 {"cnpj": "34028316000103", "common_name": "PADARIA PAO QUENTE LTDA:34028316000103",
                                  "serial": "3f2a9c", "fingerprint_sha256": "ab" * 32, "not_after": NOW}),
        "certificate.downloaded": (None, {"fingerprint_sha256": "ab" * 32, "integration_key": "…x9Zq"}),
        "certificate.expiry_alert": (None, {"threshold": 30, "recipients": 2}),
        "integration_key.created": (None, {"key": "rvk_live_••••••••••••x9Zq"}),
        "integration_key.rotated": ({"key": "rvk_live_••••••••••••x9Zq"},
                                    {"key": "rvk_live_••••••••••••a1Bc", "grace_seconds": 3600,
                                     "previous_key_expires_at": NOW}),
        "integration_key.revealed": (None, {"key": "rvk_live_••••••••••••a1Bc"}),
        "integration_key.revoked": (None, {"key": "rvk_live_••••••••••••x9Zq"}),
        "invoice.draft": (None, {"payer_key": f"partner:{ids['partner']}", "month": "2026-06"}),
        "invoice.open": ({**invoice, "status": "draft", "number": None}, invoice),
        "invoice.paid": ({"status": "open", "paid_at": None}, {"status": "paid", "paid_at": NOW}),
        "invoice.void": ({"status": "open"}, {"status": "void", "void_reason": "Emitida em duplicidade"}),
        "invoice.uncollectible": ({"status": "open"}, {"status": "uncollectible"}),
        "invoice.dunning_block": (None, {"number": "2026-000123", "blocked_clients": 3}),
        "invoice.refund": (None, {"invoice": "2026-000123", "amount_cents": 5995, "stripe_refund_id": "re_3Nx9"}),
        "invoice.resent": (None, {"to": "financeiro@alfa.example"}),
        "billing.payment_method": ({"method": "boleto"}, {"method": "card"}),
        "billing.card_saved": (None, {"brand": "visa", "last4": "4242"}),
        "billing.run": (None, {"month": "2026-06", "clients": 120, "invoices_created": 80, "invoices_skipped": 2,
                               "lines_created": 120, "batches": 1, "first_number": "2026-000100",
                               "last_number": "2026-000179"}),
        "payment.card": (None, {"invoice": "2026-000123", "status": "succeeded", "reference": "pi_3Nx9"}),
        "payment.failed": (None, {"invoice": "2026-000123", "code": "card_declined"}),
        "payment.manual_recorded": (None, {"invoice": "2026-000123", "reference": "TED 0012"}),
        "payment.manual_approved": (None, {"invoice": "2026-000123", "reference": "TED 0012"}),
        "payment.manual_rejected": (None, {"invoice": "2026-000123", "reason": "Comprovante ilegível"}),
        "payment.mismatch": (None, {"invoice": "2026-000123", "amount_cents": 100,
                                    "currency": "usd", "expected_cents": 5995, "expected_currency": "brl"}),
        "user.email_change_requested": ({"email": "antigo@empresa.example"}, {"email": "novo@empresa.example"}),
        "user.email_changed": ({"email": "antigo@empresa.example"}, {"email": "novo@empresa.example"}),
        "user.two_factor_enabled": (None, None),
        "user.two_factor_disabled": (None, None),
        "user.two_factor_recovery_used": (None, {"remaining": 9}),
        "user.two_factor_codes_regenerated": (None, None),
        "user.two_factor_reset": (None, None),
        "partner.two_factor_policy": ({"require_two_factor": False}, {"require_two_factor": True}),
        "user.membership_switched": ({"firm": "Revenda Alfa (revenda)"}, {"firm": "Padaria Pão Quente Ltda"}),
        "invitation.sent": (None, {"email": "ana@empresa.example", "kind": "client_user"}),
        "invitation.resent": (None, {"email": "ana@empresa.example"}),
        "invitation.revoked": (None, {"email": "ana@empresa.example"}),
        "invitation.accepted": (None, {"email": "ana@empresa.example"}),
        "membership.removed": ({"email": "ana@empresa.example", "role": "client"}, None),
        "payment.unexpected": (None, {"invoice": "2026-000123", "status": "void", "reference": "pi_3Nx9"}),
        "boleto.created": (None, {"invoice": "2026-000123", "payment_intent": "pi_3Nx9", "expires_at": NOW}),
        "webhook.created": (None, {"url": "https://erp.contabil.example/webhooks",
                                   "events": ["document.received", "invoice.paid"]}),
        "webhook.deleted": ({"url": "https://erp.contabil.example/webhooks", "events": ["client.created"]}, None),
        "webhook.enabled": (None, {"url": "https://erp.contabil.example/webhooks"}),
        "webhook.disabled": (None, {"url": "https://erp.contabil.example/webhooks", "consecutive_failures": 15}),
        "webhook.resent": (None, {"url": "https://erp.contabil.example/webhooks", "event": "export.ready"}),
    }


CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]+\.[a-z_]+\b(?!@)")  # snake_case or dotted.code


def problems(text: str) -> list[str]:
    """Codes or ids in a piece of text people read (e-mails, URL-less words: none here)."""
    words = re.sub(r"\S+@\S+|https?://\S+", "", text)  # e-mail addresses and URLs are data
    found = [m.group(0) for m in CODE.finditer(words) if not m.group(0).startswith(("rvk_", "rvp_", "re_", "pi_"))]
    if "_cents" in text:
        found.append("_cents")
    return found


@pytest.fixture
def ids(db, client_row, plan, partner):
    from contracts import services as contracts

    link = contracts.create_signup_link(partner, {"plan_id": str(plan.id), "payer": "client"})
    db.session.flush()
    return {"software": plan.software_id, "plan": plan.id, "partner": partner.id, "client": client_row.id,
            "link": link.id}


def test_every_recorded_kind_has_words_and_a_sample(app, ids):
    found = recorded_actions()
    assert len(found) > 40, sorted(found)  # the scan works
    with app.test_request_context():
        missing = sorted(a for a in found if not is_known_action(a))
    assert missing == [], f"audit kinds without words (add them to the domain's audit_words.py): {missing}"
    assert found <= set(samples(ids)), sorted(found - set(samples(ids)))


def test_every_kind_reads_in_words_with_names_not_ids(app, db, ids, client_row, plan, partner):
    events = [AuditEvent(action=action, object_type="client", actor_label="gestor@alfa.example",
                         before=before, after=after, client_id=client_row.id, partner_id=partner.id)
              for action, (before, after) in samples(ids).items()]
    with app.test_request_context():
        rows = history_rows(events)
        for row in rows:
            texts = [row.action_label] + [f"{c.label}: {c.full}" for c in row.before + row.after]
            for text in texts:
                assert problems(text) == [], (row.action, text)
            for change in row.before + row.after:
                assert not re.fullmatch(r"\d+", change.full), (row.action, change)  # a bare number is an id
                assert change.label not in ("Outro dado", "Outro registro"), (row.action, change)
            assert row.action_label != "Outro registro", row.action
        by_action = {row.action: row for row in rows}
        created = {c.label: c.full for c in by_action["client.created"].after}
        assert created["Software"] == plan.software.name and created["Plano"] == str(plan)
        assert created["CNPJ"] == "34.028.316/0001-03" and created["Responsável pelo pagamento"] == "Revenda (gestor)"
        assert created["UF"] == "SP" and created["Número"] == "nº 2000" and created["Status"] == "Efetivado"
        assert {c.label for c in by_action["invoice.dunning_block"].after} == {"Número da fatura", "Contratos bloqueados"}
        assert {c.label: c.full for c in by_action["signup_link.revoked"].after} == {"Situação": "Revogado"}
        assert {c.label: c.full for c in by_action["payment.card"].after}["Status"] == "Aprovado"
        assert {c.label: c.full for c in by_action["payment.unexpected"].after}["Status"] == "Cancelada"
        assert {c.full for c in by_action["invoice.open"].after} >= {"Em aberto", "R$ 59,95", "10/07/2026"}
        accepted = {c.label: c.full for c in by_action["contract.accepted"].after}
        assert accepted["Onde"] == "na página de contratação"
        assert {c.full for c in by_action["invoice.draft"].after} >= {f"Revenda {partner}", "06/2026"}


def test_the_accountant_reads_contract_and_documents_without_prices(app, ids, client_row, partner):
    events = [AuditEvent(action=action, object_type="client", actor_label="x", before=before, after=after)
              for action, (before, after) in samples(ids).items() if action in accountant_actions()]
    assert "contract.status_changed" in accountant_actions() and "certificate.uploaded" in accountant_actions()
    assert not {a for a in accountant_actions() if a.startswith(("integration_key.", "invoice.", "payment."))}
    with app.test_request_context():
        rows = history_rows(events, for_accountant=True)
    shown = " ".join(f"{c.label} {c.full}" for r in rows for c in r.before + r.after)
    assert "Mensalidade" not in shown and "R$" not in shown


def test_the_client_page_and_the_staff_audit_list_show_no_code(db, login_as, manager, admin_user, ids, client_row,
                                                              partner):
    visible = ""
    all_samples = list(samples(ids).items())
    manager_http = login_as(manager)
    for start in range(0, len(all_samples), 40):  # the page shows the latest 50 rows: 40 at a time
        events = [AuditEvent(action=action, object_type="client", object_id=client_row.id,
                             actor_label="gestor@alfa.example", before=before, after=after,
                             client_id=client_row.id, partner_id=partner.id)
                  for action, (before, after) in all_samples[start:start + 40]]
        db.session.add_all(events)
        db.session.commit()
        page = manager_http.get(f"/clientes/{client_row.id}").get_data(as_text=True)
        history = re.search(r'data-testid="history">(.*?)</table>', page, re.S).group(1)
        visible += unescape(re.sub(r"<[^>]+>", " ", re.sub(r'\s(?:data-action|title|class)="[^"]*"', "", history)))
        for event in events:
            db.session.delete(event)
        db.session.commit()
    assert problems(visible) == []
    assert "Fatura emitida" in visible and "Plano alterado" in visible
    for action, (before, after) in all_samples:  # the staff audit list reads them all
        db.session.add(AuditEvent(action=action, object_type="client", object_id=client_row.id,
                                  actor_label="gestor@alfa.example", before=before, after=after,
                                  client_id=client_row.id, partner_id=partner.id))
    db.session.commit()

    http = login_as(admin_user)
    cells = ""
    for number in range(10):  # every page of the list
        listing = http.get(f"/admin/audit/?page={number}").get_data(as_text=True)
        rows = listing.split("</thead>", 1)[1].split("</table>", 1)[0]
        if "<td" not in rows:
            break
        cells += unescape(re.sub(r"<[^>]+>", " ", re.sub(r'\s(?:[a-z-]+)="[^"]*"', "", rows)))
    assert problems(cells) == []
    for label in ("Fatura emitida", "Faturamento mensal executado", "Usuário criado", "Chave de integração criada"):
        assert label in cells
    assert client_row.legal_name in cells and str(partner) in cells
