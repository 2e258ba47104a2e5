"""The three staff roles, declared as permission rules and kept in step with the models.

`roles_sync` runs from the data migration that creates the groups and again after every migrate, so a
model added later is covered without another hand-written migration.
"""

from dataclasses import dataclass

FINANCE_REVIEWER = "Finance reviewer"
INTEGRATION_ADMIN = "Integration admin"
AUDITOR = "Auditor"

OUR_APPS = ("integrations", "customers", "payments")
# Connections hold credentials and mappings drive the books: only integration admins touch them.
CONFIG_MODELS = frozenset(
    {"connection", "statusmapping", "paymentmethodmapping", "glaccountrule", "currencyrate", "fielddefault"}
)
# What a finance reviewer decides: queue items, and the money actions on payments (refund, void, undo an
# application, charge or pause a subscription). Never configuration.
REVIEW_MODELS = frozenset(
    {
        "riskassessment",
        "erpposting",
        "duplicatecandidate",
        "reconciliationexception",
        "alert",
        "webhookevent",
        "transaction",
        "allocation",
        "subscription",
    }
)


@dataclass(frozen=True)
class PermissionRef:
    app_label: str
    model: str
    action: str  # view / add / change / delete

    @property
    def codename(self) -> str:
        return f"{self.action}_{self.model}"


def role_grants(*, role: str, app_label: str, model: str, action: str) -> bool:
    if role == AUDITOR:
        return action == "view" and app_label not in ("sessions", "contenttypes", "admin")
    if role == FINANCE_REVIEWER:
        if app_label not in OUR_APPS or model == "connection":
            return False
        return action == "view" or (action == "change" and model in REVIEW_MODELS)
    if role == INTEGRATION_ADMIN:
        if app_label == "integrations":
            return model != "auditevent" or action == "view"
        if app_label in ("django_q", "authtoken"):
            return True
        return app_label in OUR_APPS and action in ("view", "change") and model not in ("auditevent",)
    raise ValueError(f"unknown role {role!r}")


def roles_sync(*, group_model, permission_model) -> None:
    """Create the three groups and give each exactly the permissions its rules grant."""
    permissions = list(permission_model.objects.select_related("content_type"))
    for role in (FINANCE_REVIEWER, INTEGRATION_ADMIN, AUDITOR):
        group, _ = group_model.objects.get_or_create(name=role)
        granted = [
            perm
            for perm in permissions
            if "_" in perm.codename
            and role_grants(
                role=role,
                app_label=perm.content_type.app_label,
                model=perm.content_type.model,
                action=perm.codename.split("_", 1)[0],
            )
        ]
        group.permissions.set(granted)
