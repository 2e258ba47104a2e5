"""The roles, declared as permission rules and kept in step with the models and the API.

`roles_sync` runs from the data migration that creates the groups and again after every migrate, so a
model added later is covered without another hand-written migration.

Least privilege: an Integration admin edits connections and mapping tables; a Finance reviewer decides
queue items and money actions (a "change" right on a row that is never edited by hand is the right to
decide it, through a service); an Auditor reads; the Storefront holds what the REST API checks. No role
changes the task queue nor sees API keys.
"""

from dataclasses import dataclass

FINANCE_REVIEWER = "Finance reviewer"
INTEGRATION_ADMIN = "Integration admin"
AUDITOR = "Auditor"
STOREFRONT = "Storefront"
ROLES = (FINANCE_REVIEWER, INTEGRATION_ADMIN, AUDITOR, STOREFRONT)

OUR_APPS = ("integrations", "customers", "payments")
# Granted to no role: API keys (DRF's or django-rest-knox's, whichever is installed) and Django's own
# bookkeeping. The task queue (django_q) is only read, by auditors: a schedule names code the workers run.
NO_ROLE_APPS = frozenset({"authtoken", "knox", "sessions", "contenttypes", "admin"})
# Connections hold credentials and mappings drive the books: only integration admins touch them.
CONFIG_MODELS = frozenset(
    {"connection", "statusmapping", "paymentmethodmapping", "glaccountrule", "currencyrate", "fielddefault"}
)
# A mapping snapshot is the record of an export or import: made by integration admins, never edited.
MADE_ONLY_MODELS = frozenset({"mappingsnapshot"})
# What a finance reviewer decides: the items of every review queue (declared by their apps, see
# portal.review_queues), and the money actions on payments (refund, void, undo an application, charge,
# cancel or resume a subscription). Never configuration, never subscription terms
# (`payments.change_subscription_terms`, a custom permission no role is given).
MONEY_ACTION_MODELS = frozenset({"payments.transaction", "payments.allocation", "payments.subscription"})
DEFAULT_ACTIONS = ("view", "add", "change", "delete")


@dataclass(frozen=True)
class PermissionRef:
    app_label: str
    model: str
    codename: str

    @property
    def action(self) -> str | None:
        """view / add / change / delete for Django's default permissions, None for a custom one."""
        action, _, model = self.codename.partition("_")
        return action if model == self.model and action in DEFAULT_ACTIONS else None

    @property
    def label(self) -> str:
        return f"{self.app_label}.{self.codename}"


def reviewer_decided_models() -> frozenset[str]:
    """`<app_label>.<model>` of every row a Finance reviewer decides."""
    from portal.review_queues import review_queues

    return MONEY_ACTION_MODELS | {queue.model for queue in review_queues()}


def role_grants(
    *,
    role: str,
    permission: PermissionRef,
    api_permissions: frozenset[str],
    decided_models: frozenset[str] = frozenset(),
) -> bool:
    """Whether `role` holds `permission`; `api_permissions` are those the REST API checks and
    `decided_models` the rows a Finance reviewer decides."""
    if permission.app_label in NO_ROLE_APPS:
        return False
    if role == STOREFRONT:
        return permission.label in api_permissions
    action, model = permission.action, permission.model
    if action is None:
        return False  # custom permissions are given to people one by one, never through a role
    if role == AUDITOR:
        return action == "view"
    if permission.app_label not in OUR_APPS:
        return False
    if role == FINANCE_REVIEWER:
        decides = f"{permission.app_label}.{model}" in decided_models
        return model != "connection" and (action == "view" or (action == "change" and decides))
    if role == INTEGRATION_ADMIN:
        return action == "view" or model in CONFIG_MODELS or (model in MADE_ONLY_MODELS and action == "add")
    raise ValueError(f"unknown role {role!r}")


def roles_sync(*, group_model, permission_model) -> None:
    """Create the groups and give each exactly the permissions its rules grant."""
    from portal.api_permissions import api_permissions

    by_ref = {
        PermissionRef(
            app_label=perm.content_type.app_label, model=perm.content_type.model, codename=perm.codename
        ): perm
        for perm in permission_model.objects.select_related("content_type")
    }
    api_checked = api_permissions()
    decided_models = reviewer_decided_models()
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(
            [
                perm
                for ref, perm in by_ref.items()
                if role_grants(
                    role=role, permission=ref, api_permissions=api_checked, decided_models=decided_models
                )
            ]
        )
