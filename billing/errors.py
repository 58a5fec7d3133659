"""Named billing errors. Each carries a machine ``code`` (API) and a Portuguese message (people)."""


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
        super().__init__(f"Não é possível passar a fatura de {STATUS_NAMES.get(str(current), current)} "
                         f"para {STATUS_NAMES.get(str(target), target)}.")


class InvoiceImmutable(BillingError):
    """A paid or void invoice never changes (a refund is a separate record)."""

    code = "invoice_immutable"

    def __init__(self, message: str = "Fatura paga ou cancelada não pode ser alterada."):
        super().__init__(message)


class NotPayable(BillingError):
    code = "not_payable"

    def __init__(self, message: str = "Esta fatura não está pendente de pagamento."):
        super().__init__(message)


class SameApprover(BillingError):
    """Four eyes: whoever recorded a manual payment cannot approve it."""

    code = "same_approver"

    def __init__(self):
        super().__init__("A aprovação precisa ser feita por outro usuário do financeiro, "
                         "diferente de quem registrou o pagamento.")


class PaymentNotPending(BillingError):
    code = "payment_not_pending"

    def __init__(self):
        super().__init__("Este pagamento não está aguardando aprovação.")


class PaymentAlreadyPending(BillingError):
    code = "payment_already_pending"

    def __init__(self):
        super().__init__("Já existe um pagamento manual aguardando aprovação para esta fatura.")


class PaymentsUnavailable(BillingError):
    """Online payments are not configured (manual gateway) or the provider failed."""

    code = "payments_unavailable"
    status = 503


class MissingBillingData(BillingError):
    """The payer lacks data the boleto needs (CNPJ, e-mail, address)."""

    code = "missing_billing_data"
    status = 422


STATUS_NAMES = {
    "draft": "rascunho",
    "open": "pendente",
    "paid": "paga",
    "void": "cancelada",
    "uncollectible": "incobrável",
}
