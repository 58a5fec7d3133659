"""Orders answer the contracts domain's signals: a client's acceptance of a service's terms
activates the orders that waited for it ("Aguardando documentação" → "Ativo")."""

from contracts.signals import terms_accepted
from orders.services import activate_accepted


@terms_accepted.connect
def _activate_on_acceptance(client, terms, actor=None, **_):
    activate_accepted(client, terms, actor=actor)
