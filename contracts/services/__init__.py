"""Contract rules: status changes, trials, plan and payer changes, terms acceptance, signup links.

Every change writes a ContractEvent (the contract's own history, which billing reads to prorate)
and an audit event with the client's id (the client page's "Histórico de alterações"). Services
flush, never commit. Billing (above contracts) calls ``block_for_non_payment(client)`` and
``unblock_after_payment(client)``; lower domains never import contracts: partner announces
``client_registered`` and contracts/receivers.py asks for acceptance, and contracts asks billing
``payment_method_asked`` (contracts/signals.py) when a trial ends.
"""

from contracts.models import MAX_TRIAL_DAYS, ContractError, ForbiddenTransition  # re-exported for callers
from contracts.services.acceptance import (
    accept_terms,
    acceptance_address,
    acceptance_for,
    acceptance_token,
    client_for_acceptance_token,
    clients_awaiting_acceptance,
    current_terms,
    request_acceptance,
    terms_of_acceptance_token,
    terms_shown,
)
from contracts.services.common import (
    DEFAULT_LINK_DAYS,
    MAX_LINK_DAYS,
    TRIAL_WARNING_DAYS,
    AcceptanceLinkInvalid,
    AlreadyAccepted,
    LinkInvalid,
    LinkUnavailable,
    NothingToChange,
    ReasonRequired,
    external_url,
    manager_emails,
)
from contracts.services.links import (
    create_signup_link,
    ensure_link_usable,
    find_signup_link,
    link_counts,
    link_token,
    link_url,
    revoke_signup_link,
    send_signup_link,
    share_texts,
    signup_client,
    validate_signup,
)
from contracts.services.plans import (
    WHEN_NEXT_CYCLE,
    WHEN_NOW,
    apply_due_plan_changes,
    cancel_pending_plan_change,
    change_payer,
    change_plan,
    next_cycle_start,
    pending_plan_change,
    resolve_plan,
)
from contracts.services.status import (
    allowed_targets,
    block_for_non_payment,
    change_status,
    check_transition,
    end_due_trials,
    has_payment_method,
    history,
    status_choices,
    unblock_after_payment,
    update_trial,
)

__all__ = [
    "DEFAULT_LINK_DAYS", "MAX_LINK_DAYS", "MAX_TRIAL_DAYS", "TRIAL_WARNING_DAYS", "WHEN_NEXT_CYCLE", "WHEN_NOW",
    "AcceptanceLinkInvalid", "AlreadyAccepted", "ContractError", "ForbiddenTransition", "LinkInvalid",
    "LinkUnavailable", "NothingToChange", "ReasonRequired",
    "accept_terms", "acceptance_address", "acceptance_for", "acceptance_token", "allowed_targets", "apply_due_plan_changes",
    "block_for_non_payment", "cancel_pending_plan_change", "change_payer", "change_plan", "change_status",
    "check_transition", "client_for_acceptance_token", "clients_awaiting_acceptance", "create_signup_link",
    "current_terms", "end_due_trials", "ensure_link_usable", "external_url", "find_signup_link",
    "has_payment_method", "history", "link_counts", "link_token", "link_url", "manager_emails",
    "next_cycle_start", "pending_plan_change", "request_acceptance", "terms_of_acceptance_token", "resolve_plan", "revoke_signup_link",
    "send_signup_link", "share_texts", "signup_client", "status_choices", "terms_shown", "unblock_after_payment",
    "update_trial", "validate_signup",
]
