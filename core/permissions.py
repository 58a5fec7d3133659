"""Roles and named permissions, checked by one decorator."""

import enum
from functools import wraps

from flask import abort
from flask_login import current_user


class Role(enum.StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    MANAGER = "manager"
    ACCOUNTANT = "accountant"
    CLIENT = "client"


CLIENTS_VIEW = "clients:view"
CLIENTS_MANAGE = "clients:manage"
PARTNER_PROFILE = "partner:profile"
API_TOKENS_MANAGE = "api_tokens:manage"
CERTIFICATES_MANAGE = "certificates:manage"
INTEGRATION_KEYS_MANAGE = "integration_keys:manage"
CONTRACTS_MANAGE = "contracts:manage"
INVOICES_PAY = "invoices:pay"
INVOICES_REVIEW = "invoices:review"
CATALOGUE_MANAGE = "catalogue:manage"
STAFF_ADMIN = "staff:admin"
USERS_MANAGE = "users:manage"
AUDIT_VIEW = "audit:view"
OUTBOX_VIEW = "outbox:view"
CLIENT_AREA = "client:area"
PORTAL_VIEW = "portal:view"  # the accountants' portal (/contador)
ORDERS_MANAGE = "orders:manage"

_MANAGER = {
    CLIENTS_VIEW,
    CLIENTS_MANAGE,
    PARTNER_PROFILE,
    API_TOKENS_MANAGE,
    CERTIFICATES_MANAGE,
    INTEGRATION_KEYS_MANAGE,
    CONTRACTS_MANAGE,
    INVOICES_PAY,
    ORDERS_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {STAFF_ADMIN, CATALOGUE_MANAGE, USERS_MANAGE, AUDIT_VIEW, OUTBOX_VIEW, INVOICES_REVIEW}
    ),
    Role.FINANCE: frozenset({STAFF_ADMIN, INVOICES_REVIEW, OUTBOX_VIEW}),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ACCOUNTANT: frozenset({CLIENTS_VIEW, PORTAL_VIEW}),
    Role.CLIENT: frozenset({CLIENT_AREA}),
}


def has_permission(user, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or user.role is None:
        return False
    return permission in ROLE_PERMISSIONS.get(Role(user.role), frozenset())


def require(permission: str):
    """Login required, then the named permission; 403 when missing."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from core.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
