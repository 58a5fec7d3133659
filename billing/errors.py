"""Named billing errors. Each carries a machine ``code`` (API) and a Portuguese message (people)."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class BillingError(Exception):
    code = "billing_error"
    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidTransition(BillingError):
    """The invoice state machine does not allow ``current`` → ``target``."""

    code = "invalid_transition"

    def __init__(self, current, target):
        self.current, self.target = current, target
        super().__init__(_("Não é possível passar a fatura de %(current)s para %(target)s.",
                           current=str(STATUS_NAMES.get(str(current), current)),
                           target=str(STATUS_NAMES.get(str(target), target))))


class InvoiceImmutable(BillingError):
    """A paid or void invoice never changes (a refund is a separate record)."""

    code = "invoice_immutable"

    def __init__(self, message: str | None = None):
        super().__init__(message or _("Fatura paga ou cancelada não pode ser alterada."))


class NotPayable(BillingError):
    code = "not_payable"

    def __init__(self, message: str | None = None):
        super().__init__(message or _("Esta fatura não está pendente de pagamento."))


class SameApprover(BillingError):
    """Four eyes: whoever recorded a manual payment cannot approve it."""

    code = "same_approver"

    def __init__(self):
        super().__init__(_("A aprovação precisa ser feita por outro usuário do financeiro, "
                           "diferente de quem registrou o pagamento."))


class PaymentNotPending(BillingError):
    code = "payment_not_pending"

    def __init__(self):
        super().__init__(_("Este pagamento não está aguardando aprovação."))


class PaymentAlreadyPending(BillingError):
    code = "payment_already_pending"

    def __init__(self):
        super().__init__(_("Já existe um pagamento manual aguardando aprovação para esta fatura."))


class PaymentsUnavailable(BillingError):
    """Online payments are not configured (manual gateway) or the provider failed."""

    code = "payments_unavailable"
    status = 503


class MissingBillingData(BillingError):
    """The payer lacks data the boleto needs (CNPJ, e-mail, address)."""

    code = "missing_billing_data"
    status = 422


STATUS_NAMES = {
    "draft": _l("rascunho"),
    "open": _l("pendente"),
    "paid": _l("paga"),
    "void": _l("cancelada"),
    "uncollectible": _l("incobrável"),
}


class LedgerImmutable(BillingError):
    """A ledger row is never edited or deleted: a correction is a new row."""

    code = "ledger_immutable"

    def __init__(self, message: str | None = None):
        super().__init__(message or _("Lançamentos de crédito não podem ser alterados; registre um ajuste."))


class InsufficientBalance(BillingError):
    code = "insufficient_balance"
    status = 422

    def __init__(self, balance_cents: int, needed_cents: int):
        from core.money import format_brl

        self.balance_cents, self.needed_cents = balance_cents, needed_cents
        super().__init__(_("Saldo insuficiente: disponível %(b)s, necessário %(n)s.",
                           b=format_brl(balance_cents), n=format_brl(needed_cents)))
