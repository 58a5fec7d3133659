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


# -- dashboard columns and filters other domains add (e.g. the certificate's) ----------------------

@dataclass(frozen=True)
class DashboardColumn:
    """A column computed in the dashboard's page query: ``expression()`` is a correlated scalar
    subquery on ``Client`` (one query per page, whatever the number of rows); ``present(value)``
    turns its value into what the cell shows (a Flag: text and colour)."""

    key: str
    label: str  # a lazy-gettext string
    expression: Callable
    present: Callable
    order: int = 50


@dataclass(frozen=True)
class DashboardFilter:
    """A select in the dashboard's filter bar; ``condition(value)`` is a WHERE clause on ``Client``."""

    key: str
    label: str  # lazy-gettext: the "any" option, e.g. "Qualquer certificado"
    choices: dict  # value -> lazy-gettext label
    condition: Callable
    order: int = 50


_COLUMNS: dict[str, DashboardColumn] = {}
_FILTERS: dict[str, DashboardFilter] = {}


def register_dashboard_column(column: DashboardColumn) -> None:
    _COLUMNS[column.key] = column


def register_dashboard_filter(dashboard_filter: DashboardFilter) -> None:
    _FILTERS[dashboard_filter.key] = dashboard_filter


def dashboard_columns() -> list[DashboardColumn]:
    return sorted(_COLUMNS.values(), key=lambda c: c.order)


def dashboard_filters() -> list[DashboardFilter]:
    return sorted(_FILTERS.values(), key=lambda f: f.order)


# -- what the status badge says, when another domain knows better (e.g. "Aguardando aceite") ---------

_STATUS_PROVIDERS: list[Callable] = []


def register_status_provider(provider: Callable) -> None:
    """``provider(clients) -> {client_id: Flag}``: a Flag replaces the client's status badge (one
    bounded query per provider for the whole page)."""
    _STATUS_PROVIDERS.append(provider)


def status_overrides_for(clients: list) -> dict[int, Flag]:
    overrides: dict[int, Flag] = {}
    if not clients:
        return overrides
    for provider in _STATUS_PROVIDERS:
        overrides.update(provider(clients))
    return overrides
