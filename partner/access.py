"""Load and authorize together: every scoped query goes through here (404 for others' rows)."""

from flask import abort
from sqlalchemy import Select, select

from core.db import db
from core.permissions import Role
from core.security import parse_id
from partner.accountants import accepted_client_ids
from partner.models import Client


def clients_visible_to(user) -> Select:
    """The clients ``user`` may see, as a query to refine."""
    query = select(Client)
    if user.role == Role.MANAGER:
        return query.where(Client.partner_id == user.partner_id)
    if user.role == Role.ACCOUNTANT:
        # Only companies whose invitation the accountant accepted (partner/accountants.py).
        return query.where(Client.id.in_(accepted_client_ids(user.id)))
    if user.role == Role.CLIENT:
        return query.where(Client.id == user.client_id)
    return query.where(False)


def get_client_for(user, client_id) -> Client:
    """The client if ``user`` may see it, else 404 (never 403: no hint that it exists)."""
    client_id = parse_id(client_id)  # a number within the id column's range
    if client_id is None:
        abort(404)
    client = db.session.scalar(clients_visible_to(user).where(Client.id == client_id))
    if client is None:
        abort(404)
    return client


def get_partner_client(partner_id: int, client_id) -> Client | None:
    client_id = parse_id(client_id)
    if client_id is None:
        return None
    return db.session.scalar(
        select(Client).where(Client.id == client_id, Client.partner_id == partner_id)
    )
