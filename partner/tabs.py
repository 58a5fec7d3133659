"""Tabs of the client's "Gerenciar" page. Each domain registers its own (Certificado digital,
Chave de integração, Contrato, Software…), so the page grows without one template owning all."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClientTab:
    key: str
    label: str  # a lazy-gettext string
    template: str
    permission: str
    order: int = 50
    context: Callable = field(default=lambda client: {})


_TABS: dict[str, ClientTab] = {}


def register_tab(tab: ClientTab) -> None:
    _TABS[tab.key] = tab


def tabs_for(user) -> list[ClientTab]:
    from core.permissions import has_permission

    return sorted((t for t in _TABS.values() if has_permission(user, t.permission)), key=lambda t: t.order)


# -- dashboard flags: badges next to a client's name, computed in one query per provider ----------

@dataclass(frozen=True)
class Flag:
    label: str
    color: str  # a Bootstrap colour: danger, warning, info…


_FLAG_PROVIDERS: list[Callable] = []


def register_flag_provider(provider: Callable) -> None:
    """``provider(client_ids) -> {client_id: [Flag, …]}``; must run a bounded number of queries."""
    _FLAG_PROVIDERS.append(provider)


def flags_for(client_ids: list[int]) -> dict[int, list[Flag]]:
    flags: dict[int, list[Flag]] = {}
    if not client_ids:
        return flags
    for provider in _FLAG_PROVIDERS:
        for client_id, items in provider(client_ids).items():
            flags.setdefault(client_id, []).extend(items)
    return flags


# -- client area sections (invoices, acceptance…) -------------------------------------------------

@dataclass(frozen=True)
class AreaSection:
    template: str
    order: int = 50
    context: Callable = field(default=lambda client: {})


_SECTIONS: list[AreaSection] = []


def register_client_area_section(section: AreaSection) -> None:
    _SECTIONS.append(section)


def client_area_sections() -> list[AreaSection]:
    return sorted(_SECTIONS, key=lambda s: s.order)


# -- client actions: buttons on "Gerenciar" next to "Acessar software" (managers' tools of other domains) --

@dataclass(frozen=True)
class ClientAction:
    key: str
    label: str  # a lazy-gettext string
    endpoint: str  # takes ``client_id``
    permission: str
    icon: str = "bi-file-earmark"
    order: int = 50


_ACTIONS: dict[str, ClientAction] = {}


def register_client_action(action: ClientAction) -> None:
    _ACTIONS[action.key] = action


def actions_for(user) -> list[ClientAction]:
    from core.permissions import has_permission

    return sorted((a for a in _ACTIONS.values() if has_permission(user, a.permission)), key=lambda a: a.order)
