"""How contracts reacts to what lower domains announce (imported by the app factory)."""

from contracts.services import request_acceptance
from partner.signals import client_registered


@client_registered.connect
def _ask_for_acceptance(client, *, actor=None, **_):
    request_acceptance(client, actor=actor)  # the contract shows "Aguardando aceite" until accepted
