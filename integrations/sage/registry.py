"""Which connector class serves which ERP system: the one its entry in `integrations.erps` names."""

from django.utils.module_loading import import_string

from integrations.erps import erp_get
from integrations.models import Connection
from integrations.sage.connector import ErpConnector


def connector_for(connection: Connection) -> ErpConnector:
    erp = erp_get(connection.system)
    if erp is None:
        raise ValueError(f"{connection} is not an ERP connection")
    return import_string(erp.connector).from_connection(connection)
