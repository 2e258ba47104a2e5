"""Which connector class serves which ERP system."""

from django.utils.module_loading import import_string

from integrations.models import Connection, System
from integrations.sage.base import ErpConnector

CONNECTOR_CLASSES = {
    System.SAGE_300: "integrations.sage.sage300.Sage300Connector",
    System.SAGE_X3: "integrations.sage.x3.X3Connector",
    System.SAGE_PRO: "integrations.sage.sagepro.SageProConnector",
}


def connector_for(connection: Connection) -> ErpConnector:
    try:
        path = CONNECTOR_CLASSES[connection.system]
    except KeyError:
        raise ValueError(f"{connection} is not an ERP connection") from None
    return import_string(path).from_connection(connection)
