"""The ERPs Paysage posts to, each declared once.

An entry names the value stored on connections and mapping rows (its mapping scope), the label finance
reads, the connector class that speaks to it and the path under `/sandbox/` where its simulator answers in
development and tests. The `System` and `ErpSystem` choices, the connector registry and every "all ERPs"
query derive from `ERPS`; adding an ERP is one entry here plus its connector package."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Erp:
    member: str  # the name code uses: System.SAGE_300
    code: str  # stored on connections and mapping rows
    label: str
    connector: str  # dotted path of its ErpConnector subclass
    simulator: str  # its simulator's path under /sandbox/


ERPS: tuple[Erp, ...] = (
    Erp("SAGE_X3", "sage_x3", "Sage X3", "integrations.sage.x3.X3Connector", "x3"),
    Erp("SAGE_300", "sage_300", "Sage 300", "integrations.sage.sage300.Sage300Connector", "sage300"),
    Erp("SAGE_PRO", "sage_pro", "Sage Pro", "integrations.sage.sagepro.SageProConnector", "sagepro"),
)
_EXTRA: dict[str, Erp] = {}


def erp_register(erp: Erp) -> None:
    """An ERP added at run time (a plug-in, or a test's fake ERP): connections may name its code, and
    `connector_for` finds its connector. Stored choices stay those of `ERPS`."""
    _EXTRA[erp.code] = erp


def erp_unregister(code: str) -> None:
    _EXTRA.pop(code, None)


def erps_all() -> tuple[Erp, ...]:
    return (*ERPS, *_EXTRA.values())


def erp_get(code: str) -> Erp | None:
    return next((erp for erp in erps_all() if erp.code == code), None)


def erp_codes() -> tuple[str, ...]:
    return tuple(erp.code for erp in erps_all())
