"""Order rules: quoting, placing, paying, the state machine (only through ``TRANSITIONS``), acceptance
of the service's terms (the contracts mechanism), cancellation with credit back, renewals, storage
add-ons, reminders, responsible people and their documents.

Services flush, never commit (the request or the task commits once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from billing import ledger
from billing import services as billing_services
from billing.models import CreditKind
from billing.run import local_today
from contracts.models import TermsVersion
from contracts.services import acceptance_for, request_acceptance
from core import audit
from core.db import db, utcnow
from core.money import format_brl
from core.security import parse_id
from core.validators import ValidationError, clean_email, clean_text, collect
from orders import pricing
from orders.models import (
    CANCELLABLE,
    PAYMENT_LABELS,
    RUNNING,
    STATUS_LABELS,
    TRANSITIONS,
    AddonPrice,
    Order,
    OrderEvent,
    OrderRenewal,
    OrderStatus,
    PaymentChoice,
    Service,
    StoragePurchase,
)
from partner.models import Client, Partner

S = OrderStatus
RENEWABLE_DAYS_AFTER_EXPIRY = 60
REMINDER_DAYS = (60, 30, 7)
MAX_ADDON_QUANTITY = 10_000
MAX_STORAGE_GB = 100_000
ORDER_PAYMENTS = (PaymentChoice.BALANCE, PaymentChoice.CARD, PaymentChoice.INVOICE)


# -- errors -----------------------------------------------------------------------------------------


class OrderError(Exception):
    """A rule of the order domain refused the action (409 in the API, a flash in the panel)."""

    code = "order_error"
    status = 409

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ForbiddenTransition(OrderError):
    code = "forbidden_transition"

    def __init__(self, current: OrderStatus, target: OrderStatus):
        self.current, self.target = OrderStatus(current), OrderStatus(target)
        super().__init__(_("Não é possível passar o pedido de %(a)s para %(b)s.",
                           a=STATUS_LABELS[self.current], b=STATUS_LABELS[self.target]))


# -- the state machine ------------------------------------------------------------------------------


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if OrderStatus(target) not in TRANSITIONS[OrderStatus(current)]:
        raise ForbiddenTransition(current, target)


def transition(order: Order, target: OrderStatus, *, actor=None, label=None, note: str = "") -> Order:
    """Move ``order`` to ``target`` if the table allows it, as a compare-and-set on the row: of two
    concurrent requests making the same move, exactly one wins; the other gets ForbiddenTransition
    (the order has already left the state it read)."""
    current = OrderStatus(order.status)
    check_transition(current, target)
    done = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == current)
        .values(status=OrderStatus(target), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(order)
    if done != 1:
        raise ForbiddenTransition(OrderStatus(order.status), target)
    _event(order, "status", note=note, from_status=current, to_status=OrderStatus(target), actor=actor, label=label)
    audit.record(f"order.{OrderStatus(target).value}", order, actor=actor, label=label, client_id=order.client_id,
                 before={"status": current}, after={"status": OrderStatus(target)})
    return order


def _actor_label(actor, label) -> str:
    return label or getattr(actor, "email", None) or "sistema"


def _event(order: Order, kind: str, *, note: str = "", from_status=None, to_status=None, actor=None,
           label=None) -> None:
    db.session.add(OrderEvent(order_id=order.id, kind=kind, note=note[:500],
                              from_status=from_status and str(from_status), to_status=to_status and str(to_status),
                              actor_label=_actor_label(actor, label)))


# -- catalogue --------------------------------------------------------------------------------------


def active_services() -> list[Service]:
    return list(db.session.scalars(select(Service).where(Service.is_active.is_(True)).order_by(Service.name)))


def service_document(service: Service) -> str:
    return f"service:{service.id}"


def service_terms(service: Service) -> TermsVersion:
    """The service's terms as a contract document (contracts' TermsVersion of document
    ``service:<id>``): a new version whenever the catalogue's text changed, never an edit."""
    text = service.terms_text or _("Termos do serviço %(s)s.", s=service.name)
    digest = TermsVersion.hash_text(text)
    current = service.terms_version
    if current is not None and current.sha256 == digest:
        return current
    count = db.session.query(TermsVersion).filter(TermsVersion.document == service_document(service)).count()
    terms = TermsVersion(document=service_document(service), version=f"S{service.id}-v{count + 1}"[:20],
                         text=text, sha256=digest, published_at=utcnow())
    db.session.add(terms)
    db.session.flush()
    service.terms_version = terms
    db.session.flush()
    return terms


# -- quoting and placing ----------------------------------------------------------------------------


@dataclass
class OrderRequest:
    service: Service
    term_months: int
    term_price_cents: int
    kit_gb: int
    kit_monthly_cents: int
    addons: list[tuple[AddonPrice, int]]
    payment: PaymentChoice
    renewal: PaymentChoice


def _int(value, field: str, errors: dict, *, minimum: int = 0, maximum: int = MAX_ADDON_QUANTITY) -> int | None:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        errors[field] = _("Informe um número inteiro entre %(a)s e %(b)s.", a=minimum, b=maximum)
        return None
    return number


def _choice(value, field: str, allowed, errors: dict, default=None):
    if value in (None, "") and default is not None:
        return default
    try:
        choice = PaymentChoice(str(value))
    except ValueError:
        choice = None
    if choice not in allowed:
        errors[field] = _("Escolha uma das opções.")
        return None
    return choice


def parse_request(data: dict) -> OrderRequest:
    """Validate the service, term, starter kit, add-ons and payment choices of an order form or
    API body; a ValidationError naming each bad field (nothing written)."""
    errors: dict[str, str] = {}
    service = None
    service_id = parse_id(data.get("service_id"))
    if service_id is not None:
        service = db.session.get(Service, service_id)
    if service is None or not service.is_active:
        errors["service_id"] = _("Escolha um serviço do catálogo.")
        raise ValidationError(errors)
    months = _int(data.get("term_months"), "term_months", errors, minimum=1, maximum=120)
    term = next((t for t in service.terms if t.months == months), None)
    if months is not None and term is None:
        errors["term_months"] = _("Escolha um dos prazos de renovação do serviço: %(m)s.",
                                  m=", ".join(str(t.months) for t in service.terms) or "—")
    kit_gb = _int(data.get("starter_kit_gb", 0) or 0, "starter_kit_gb", errors, maximum=MAX_STORAGE_GB)
    kit = next((k for k in service.kits if k.gb == kit_gb), None)
    if kit_gb and kit is None:
        errors["starter_kit_gb"] = _("Escolha um dos starter kits do serviço.")
    elif not kit_gb and service.kits:
        errors["starter_kit_gb"] = _("Escolha um starter kit.")
    addons = []
    raw_addons = data.get("addons") or {}
    if not isinstance(raw_addons, dict):
        errors["addons"] = _("Informe os adicionais como {código: quantidade}.")
        raw_addons = {}
    by_code = {a.code: a for a in service.addons}
    for code, quantity in raw_addons.items():
        addon = by_code.get(str(code))
        if addon is None:
            errors[f"addons.{code}"] = _("Adicional desconhecido para este serviço.")
            continue
        number = _int(quantity or 0, f"addons.{code}", errors)
        if number:
            addons.append((addon, number))
    payment = _choice(data.get("payment"), "payment", ORDER_PAYMENTS, errors, default=PaymentChoice.BALANCE)
    renewal = _choice(data.get("renewal"), "renewal", (*ORDER_PAYMENTS, PaymentChoice.MANUAL), errors,
                      default=PaymentChoice.MANUAL)
    if errors:
        raise ValidationError(errors)
    return OrderRequest(service, months, term.price_cents, kit_gb or 0, kit.monthly_price_cents if kit else 0,
                        sorted(addons, key=lambda a: a[0].code), payment, renewal)


def summary_for(request: OrderRequest, today: date | None = None) -> pricing.Summary:
    return pricing.order_summary(
        service_name=request.service.name, months=request.term_months, term_price_cents=request.term_price_cents,
        kit_gb=request.kit_gb, kit_monthly_cents=request.kit_monthly_cents,
        addons=[(a.code, a.label, quantity, a.unit_monthly_cents) for a, quantity in request.addons],
        today=today or local_today(),
    )


def quote(data: dict, today: date | None = None) -> tuple[OrderRequest, pricing.Summary]:
    request = parse_request(data)
    return request, summary_for(request, today)


def new_holder_data(data: dict) -> dict | None:
    """The inline "Novo titular" of an order (``client``: Novo cadastro's fields), if any."""
    new = data.get("client")
    return new if isinstance(new, dict) and new else None


def resolve_holder(partner: Partner, data: dict, *, actor=None, register: bool = True) -> Client | None:
    """The order's holder: one of the partner's clients (``client_id``), or a new one registered from
    ``client`` by Novo cadastro's own service (partner.services: the same rules, duplicates
    included), its errors named ``client.<field>``. ``register=False`` only checks (writes nothing;
    returns None for a new holder)."""
    from partner.services import DuplicateError, clean_new_client, register_client

    new = new_holder_data(data)
    if new is not None:
        try:
            if not register:
                clean_new_client(partner, new)
                return None
            return register_client(partner, new, actor=actor)
        except ValidationError as exc:
            raise ValidationError({f"client.{k}": v for k, v in exc.fields.items()}) from exc
        except DuplicateError as exc:
            raise ValidationError({f"client.{exc.field}": exc.message}) from exc
    client_id = parse_id(data.get("client_id"))
    client = db.session.scalar(select(Client).where(Client.id == client_id, Client.partner_id == partner.id)) \
        if client_id else None
    if client is None:
        raise ValidationError({"client_id": _("Escolha um cliente da sua carteira ou cadastre um novo.")})
    return client


def check_order(partner: Partner, data: dict, today: date | None = None) -> tuple[OrderRequest, pricing.Summary]:
    """Both parts of an order form checked together, nothing written: the service, term, kit,
    add-ons and payment, and the holder (chosen or new). One ValidationError names every bad field."""
    errors: dict = {}
    request = summary = None
    try:
        request, summary = quote(data, today)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        resolve_holder(partner, data, register=False)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return request, summary


def place_order(partner: Partner, data: dict, *, actor=None, label=None, today: date | None = None) -> Order:
    """Create the order with the snapshot of what was sold, then try to pay it with the chosen
    method: paid, it waits for the client's acceptance (or activates if the terms were already
    accepted); not paid (no balance, card refused), it stays "Aguardando pagamento"."""
    today = today or local_today()
    request, summary = check_order(partner, data, today)  # nothing is written unless both parts are right
    client = resolve_holder(partner, data, actor=actor)
    order = Order(
        partner_id=partner.id, client_id=client.id, service_id=request.service.id, status=S.AWAITING_PAYMENT,
        term_months=request.term_months, starter_kit_gb=request.kit_gb, quota_gb=request.kit_gb,
        amount_cents=summary.total_cents, renewal=request.renewal,
        snapshot={**summary.snapshot(), "service": request.service.name, "kind": str(request.service.kind),
                  "addons": {a.code: {"label": a.label, "quantity": q, "unit_monthly_cents": a.unit_monthly_cents}
                             for a, q in request.addons},
                  "kit_monthly_cents": request.kit_monthly_cents, "term_price_cents": request.term_price_cents},
    )
    db.session.add(order)
    db.session.flush()
    if request.kit_gb:
        kit_line = next(line for line in summary.lines if line.code == "kit")
        db.session.add(StoragePurchase(order_id=order.id, gb=request.kit_gb, amount_cents=kit_line.amount_cents,
                                       note="starter kit", actor_label=_actor_label(actor, label)))
    _event(order, "created", note=f"{format_brl(order.amount_cents)}", to_status=S.AWAITING_PAYMENT,
           actor=actor, label=label)
    audit.record("order.created", order, actor=actor, label=label, client_id=client.id,
                 after={"service": request.service.name, "term_months": order.term_months,
                        "amount_cents": order.amount_cents, "quota_gb": order.quota_gb})
    try:
        with db.session.begin_nested():
            pay_order(order, request.payment, actor=actor, label=label)
    except OrderPaymentFailed as exc:
        db.session.refresh(order)  # the rolled-back move was a Core UPDATE: reread the row
        _event(order, "payment_failed", note=exc.message, actor=actor, label=label)
    return order


class OrderPaymentFailed(OrderError):
    code = "payment_failed"
    status = 422


class OrderPaymentUnavailable(OrderPaymentFailed):
    """The payment could not be tried (the card processor unreachable): nothing was refused, try later."""

    code = "payments_unavailable"  # still a 422 to whoever asked: the order was not paid, nothing broke here


def _charge(order: Order, amount_cents: int, method: PaymentChoice, reference: str, description: str, *,
            attempt: str, actor=None) -> None:
    """Take ``amount_cents`` for ``order`` from the partner: its balance, its card (a credit for the
    money received, then the debit) or its next invoice (a debit the billing run charges).

    ``attempt`` names this payment for the card's idempotency key (with the day: the same payment
    retried the same day is never charged twice, a retry another day is a new attempt). Call it
    last, once every rule has passed: a card charge cannot be rolled back with the session."""
    from billing.errors import BillingError, PaymentsUnavailable

    if amount_cents <= 0:
        return
    try:
        if method == PaymentChoice.BALANCE:
            ledger.pay_from_balance(order.partner_id, amount_cents, reference, description=description, actor=actor)
            return
        if method == PaymentChoice.CARD:
            billing_services.charge_card_to_credit(
                order.partner, amount_cents, reference, description=description, actor=actor,
                idempotency_key=f"revenda-order-{order.id}-{attempt}-{local_today().isoformat()}")
        ledger.post(order.partner_id, -amount_cents, CreditKind.ORDER, reference, description=description,
                    actor=actor)
    except PaymentsUnavailable as exc:
        raise OrderPaymentUnavailable(exc.message) from exc
    except BillingError as exc:
        raise OrderPaymentFailed(exc.message) from exc


def pay_order(order: Order, method: PaymentChoice | str, *, actor=None, label=None) -> Order:
    """Pay an order waiting for payment, then ask for the acceptance of the service's terms."""
    errors: dict = {}
    method = _choice(method, "payment", ORDER_PAYMENTS, errors)
    if errors:
        raise ValidationError(errors)
    if order.status != S.AWAITING_PAYMENT:
        raise OrderError(_("Este pedido não está aguardando pagamento."), "not_awaiting_payment")
    # the move first (a concurrent payment of the same order stops here), the money last; on a
    # refused payment the caller rolls the move back (a savepoint, or the request)
    transition(order, S.AWAITING_DOCUMENTATION, actor=actor, label=label, note=str(PAYMENT_LABELS[PaymentChoice(method)]))
    _charge(order, order.amount_cents, method, f"order:{order.id}", f"Pedido #{order.id}", attempt="order",
            actor=actor)
    order.paid_cents += order.amount_cents
    order.payment = method
    ask_acceptance(order, actor=actor, label=label)
    return order


# -- acceptance and activation ---------------------------------------------------------------------


def ask_acceptance(order: Order, *, actor=None, label=None) -> None:
    """Ask the client to accept the service's terms (the contracts' e-mail and link); if it already
    accepted this version (another order of the same service), activate at once."""
    terms = service_terms(order.service)
    if acceptance_for(order.client, terms) is not None:
        activate(order, actor=actor, label=label)
        return
    to = request_acceptance(order.client, terms=terms, document_title=order.service.name, actor=actor, label=label)
    _event(order, "acceptance_requested", note=to, actor=actor, label=label)


def resend_acceptance(order: Order, *, actor=None, label=None) -> str:
    """"Reenviar e-mail de aceite": only while the order waits for documentation."""
    if order.status != S.AWAITING_DOCUMENTATION:
        raise OrderError(_("O e-mail de aceite só pode ser reenviado enquanto o pedido aguarda documentação."),
                         "not_awaiting_documentation")
    to = request_acceptance(order.client, terms=service_terms(order.service), document_title=order.service.name,
                            actor=actor, label=label)
    _event(order, "acceptance_resent", note=to, actor=actor, label=label)
    audit.record("order.acceptance_resent", order, actor=actor, label=label, client_id=order.client_id,
                 after={"email": to})
    return to


def activate(order: Order, *, actor=None, label=None, today: date | None = None) -> Order:
    """The client accepted: the term starts today."""
    today = today or local_today()
    transition(order, S.ACTIVE, actor=actor, label=label)
    order.term_start = today
    order.renews_at = pricing.add_months(today, order.term_months)
    order.activated_at = utcnow()
    db.session.flush()
    return order


def activate_accepted(client: Client, terms: TermsVersion, *, actor=None) -> list[Order]:
    """Orders of ``client`` waiting for the acceptance of ``terms`` (contracts' signal)."""
    orders = list(db.session.scalars(
        select(Order).join(Service, Service.id == Order.service_id)
        .where(Order.client_id == client.id, Order.status == S.AWAITING_DOCUMENTATION,
               Service.terms_version_id == terms.id)
    ))
    for order in orders:
        activate(order, actor=actor, label=getattr(actor, "email", None) or "cliente")
    return orders


# -- cancellation ------------------------------------------------------------------------------------


def cancel_order(order: Order, *, actor=None, label=None) -> Order:
    """"Cancelar pedido" (before activation only): what was paid goes back to the partner's balance.

    Two concurrent cancellations: the compare-and-set in :func:`transition` lets one through, and
    the ledger's ``UNIQUE (kind, reference)`` would refuse a second credit anyway."""
    if order.status not in CANCELLABLE:
        raise OrderError(_("Só é possível cancelar um pedido antes da ativação."), "not_cancellable")
    transition(order, S.CANCELLED, actor=actor, label=label)
    order.cancelled_at = utcnow()
    if order.paid_cents > 0:
        ledger.post(order.partner_id, order.paid_cents, CreditKind.ORDER_CANCELLED, f"order:{order.id}",
                    description=f"Pedido #{order.id} cancelado", actor=actor)
    db.session.flush()
    return order


# -- storage add-ons and renewals ---------------------------------------------------------------------


def gb_addon(order: Order) -> AddonPrice | None:
    return next((a for a in order.service.addons if a.code == "gb"), None)


def storage_quote(order: Order, gb: int, today: date | None = None) -> tuple[int, int]:
    """(price, days charged) of ``gb`` more GB from ``today`` to the renewal date, prorated."""
    today = today or local_today()
    addon = gb_addon(order)
    if addon is None:
        raise OrderError(_("Este serviço não vende GB adicionais."), "no_storage_addon")
    if order.status not in RUNNING or order.term_start is None:
        raise OrderError(_("Só é possível adicionar espaço a um pedido ativo."), "not_active")
    full = pricing.full_term_cents(addon.unit_monthly_cents, gb, order.term_months)
    return (pricing.prorated_cents(full, order.term_start, order.renews_at, today),
            pricing.days_left(order.renews_at, today))


def parse_gb(value) -> int:
    errors: dict = {}
    gb = _int(value, "gb", errors, minimum=1, maximum=MAX_STORAGE_GB)
    if errors:
        raise ValidationError(errors)
    return gb


def add_storage(order: Order, gb, method: PaymentChoice | str = PaymentChoice.BALANCE, *, actor=None,
                label=None, today: date | None = None) -> StoragePurchase:
    """Add GB mid-term, prorated to the renewal date ("Histórico de espaço")."""
    gb = parse_gb(gb)
    errors: dict = {}
    method = _choice(method, "payment", ORDER_PAYMENTS, errors, default=PaymentChoice.BALANCE)
    if errors:
        raise ValidationError(errors)
    amount, days = storage_quote(order, gb, today)
    purchase = StoragePurchase(order_id=order.id, gb=gb, amount_cents=amount, days_charged=days,
                               actor_label=_actor_label(actor, label))
    db.session.add(purchase)
    db.session.flush()
    _charge(order, amount, method, f"storage:{purchase.id}", f"Pedido #{order.id}: +{gb} GB",
            attempt=f"storage-{purchase.id}", actor=actor)
    order.quota_gb += gb
    order.paid_cents += amount
    _event(order, "storage", note=f"+{gb} GB — {format_brl(amount)}", actor=actor, label=label)
    audit.record("order.storage_added", order, actor=actor, label=label, client_id=order.client_id,
                 after={"gb": gb, "amount_cents": amount, "quota_gb": order.quota_gb})
    return purchase


def renewal_price(order: Order) -> int:
    """The next term at today's catalogue prices (the snapshot's where the catalogue dropped one)."""
    service, months = order.service, order.term_months
    term = next((t for t in service.terms if t.months == months), None)
    total = term.price_cents if term else int(order.snapshot.get("term_price_cents", 0))
    kit = next((k for k in service.kits if k.gb == order.starter_kit_gb), None)
    kit_monthly = kit.monthly_price_cents if kit else int(order.snapshot.get("kit_monthly_cents", 0))
    total += pricing.full_term_cents(kit_monthly, 1, months) if order.starter_kit_gb else 0
    extra_gb = order.quota_gb - order.starter_kit_gb
    addon = gb_addon(order)
    if extra_gb > 0 and addon is not None:
        total += pricing.full_term_cents(addon.unit_monthly_cents, extra_gb, months)
    by_code = {a.code: a for a in service.addons}
    for code, sold in (order.snapshot.get("addons") or {}).items():
        unit = by_code[code].unit_monthly_cents if code in by_code else int(sold["unit_monthly_cents"])
        total += pricing.full_term_cents(unit, int(sold["quantity"]), months)
    return total


def renewable(order: Order, today: date | None = None) -> bool:
    today = today or local_today()
    if order.status in RUNNING:
        return True
    return (order.status == S.EXPIRED and order.renews_at is not None
            and today < order.renews_at + timedelta(days=RENEWABLE_DAYS_AFTER_EXPIRY))


def renew(order: Order, method: PaymentChoice | str | None = None, *, automatic: bool = False, actor=None,
          label=None, today: date | None = None) -> OrderRenewal:
    """Renew for another term: from the renewal date, or from today for an expired order (still
    renewable for 60 days). ``UNIQUE (order, period_start)`` makes a double renewal impossible.
    A refused payment raises OrderPaymentFailed after rows were flushed: the caller rolls back (the
    daily pass runs each renewal in a savepoint, a request rolls back on 4xx)."""
    today = today or local_today()
    if not renewable(order, today):
        raise OrderError(_("Este pedido não pode mais ser renovado."), "not_renewable")
    errors: dict = {}
    method = _choice(method, "payment", ORDER_PAYMENTS, errors,
                     default=order.renewal if order.renewal in ORDER_PAYMENTS else PaymentChoice.BALANCE)
    if errors:
        raise ValidationError(errors)
    start = order.renews_at if order.status in RUNNING else today
    end = pricing.add_months(start, order.term_months)
    amount = renewal_price(order)
    renewal = OrderRenewal(order_id=order.id, months=order.term_months, period_start=start,
                           period_end=end - timedelta(days=1), amount_cents=amount, payment=method,
                           automatic=automatic, actor_label=_actor_label(actor, label))
    db.session.add(renewal)
    db.session.flush()
    if order.status != S.ACTIVE:  # before any money moves: a concurrent change stops the renewal here
        transition(order, S.ACTIVE, actor=actor, label=label, note="renovação")
    _charge(order, amount, method, f"renewal:{renewal.id}", f"Pedido #{order.id}: renovação",
            attempt=f"renewal-{start.isoformat()}", actor=actor)
    order.term_start, order.renews_at = start, end
    order.paid_cents += amount
    _event(order, "renewal", note=f"{start:%d/%m/%Y} — {format_brl(amount)}", actor=actor, label=label)
    audit.record("order.renewed", order, actor=actor, label=label, client_id=order.client_id,
                 after={"amount_cents": amount, "renews_at": end.isoformat(), "method": method,
                        "automatic": automatic})
    return renewal


# -- loading ------------------------------------------------------------------------------------------


def orders_of(partner_id: int):
    return select(Order).where(Order.partner_id == partner_id).order_by(Order.id.desc())


def get_order_for_partner(partner_id: int, order_id) -> Order | None:
    """The partner's order, or None for anything else (404: never another partner's)."""
    order_id = parse_id(order_id)
    if order_id is None:
        return None
    return db.session.scalar(select(Order).where(Order.id == order_id, Order.partner_id == partner_id))


def max_attachment_bytes() -> int:
    return int(current_app.config.get("ORDERS_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))


def clean_responsible(data: dict) -> dict:
    return collect({
        "name": lambda v: clean_text(v, label=_("Nome"), max_len=200),
        "role": lambda v: clean_text(v, label=_("Função"), max_len=40, required=False),
        "email": clean_email,
    }, data)
