"""The admin's navigation by task, as finance staff say it: the review queues first, then money, the ERP's
documents, configuration and the system's own machinery. The groups replace Django's one-box-per-app index
and sidebar; a model registered later and named by no group still shows, under "Other", never hidden.

Entries name models by label ("payments.transaction"), so the portal imports none of the apps; the review
queues are read from their declarations (portal.review_queues), each linked to its waiting items.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.text import slugify

from portal.review_queues import review_queues


@dataclass(frozen=True)
class NavEntry:
    model: str  # "<app_label>.<model_name>"
    name: str
    query: str = ""  # a filter the link opens with, e.g. "status__exact=dead"


@dataclass(frozen=True)
class NavGroup:
    name: str
    entries: tuple[NavEntry, ...]

    @property
    def slug(self) -> str:
        return slugify(self.name)


REVIEW_QUEUES = "Review queues"
# The queues in the order finance works through them; a queue declared later comes after these.
QUEUE_ORDER = (
    "payments.riskassessment",
    "integrations.erpposting",
    "payments.reconciliationexception",
    "customers.duplicatecandidate",
    "integrations.alert",
)
OTHER = "Other"

NAV_GROUPS = (
    NavGroup(
        "Money",
        (
            NavEntry("payments.transaction", "Payments and refunds"),
            NavEntry("payments.invoice", "Invoices"),
            NavEntry("payments.allocation", "Invoice applications"),
            NavEntry("payments.order", "Storefront orders"),
            NavEntry("customers.customer", "Customers"),
            NavEntry("payments.settlementbatch", "Settlement batches"),
            NavEntry("payments.subscription", "Subscriptions"),
            NavEntry("payments.riskassessment", "Risk scores"),
            NavEntry("payments.reconciliationexception", "Reconciliation differences"),
        ),
    ),
    NavGroup(
        "ERP documents",
        (
            NavEntry("integrations.erpposting", "Documents sent to the ERP"),
            NavEntry("payments.creditmemo", "Credit memos"),
            NavEntry("payments.journalentry", "Journal entries"),
            NavEntry("payments.currencyconversion", "Currency conversions"),
            NavEntry("customers.customerlink", "Customer ids in each system"),
            NavEntry("integrations.erppostingattempt", "Sending attempts"),
        ),
    ),
    NavGroup(
        "Configuration",
        (
            NavEntry("integrations.connection", "Connections"),
            NavEntry("integrations.statusmapping", "Status mappings"),
            NavEntry("integrations.paymentmethodmapping", "Payment method mappings"),
            NavEntry("integrations.glaccountrule", "GL accounts"),
            NavEntry("integrations.currencyrate", "Exchange rates"),
            NavEntry("integrations.fielddefault", "ERP field defaults"),
            NavEntry("integrations.mappingsnapshot", "Mapping imports and exports"),
            NavEntry("payments.riskpolicy", "Risk policy"),
            NavEntry("payments.riskmodelversion", "Risk models"),
        ),
    ),
    NavGroup(
        "System",
        (
            NavEntry("integrations.auditevent", "Audit trail"),
            NavEntry("integrations.alert", "Alerts"),
            NavEntry("integrations.webhookevent", "Webhook deliveries"),
            NavEntry("payments.callbackdelivery", "Storefront callbacks"),
            NavEntry("integrations.synccursor", "PayTrace sync progress"),
            NavEntry("django_q.schedule", "Scheduled jobs"),
            NavEntry("django_q.ormq", "Jobs waiting to run"),
            NavEntry("django_q.success", "Finished jobs"),
            NavEntry("django_q.failure", "Failed jobs"),
            NavEntry("auth.user", "Users"),
            NavEntry("auth.group", "Roles"),
            NavEntry("knox.authtoken", "API keys"),
        ),
    ),
)


def nav_groups() -> tuple[NavGroup, ...]:
    """Every group in order, the review queues (as declared by their apps) first."""
    declared = sorted(
        review_queues(),
        key=lambda queue: QUEUE_ORDER.index(queue.model) if queue.model in QUEUE_ORDER else len(QUEUE_ORDER),
    )
    queues = NavGroup(
        REVIEW_QUEUES,
        tuple(NavEntry(queue.model, queue.title, queue.list_query()) for queue in declared),
    )
    return (queues, *NAV_GROUPS)


def nav_app_list(*, app_dict: dict[str, dict]) -> list[dict]:
    """Django's per-app dict (`AdminSite._build_app_dict`) regrouped by task, in the shape the admin's
    templates read (`name`, `app_label`, `app_url`, `models`). Only models the user may see are in
    `app_dict`, so a group left empty is left out."""
    shown = {
        f"{app_label}.{model['object_name'].lower()}": model
        for app_label, app in app_dict.items()
        for model in app["models"]
    }
    placed: set[str] = set()
    groups = []
    for group in nav_groups():
        models = []
        for entry in group.entries:
            model = shown.get(entry.model)
            if model is None:
                continue
            placed.add(entry.model)
            linked = {**model, "name": entry.name}
            if entry.query and model["admin_url"]:
                linked.update(admin_url=f"{model['admin_url']}?{entry.query}", add_url=None)
            models.append(linked)
        if models:
            groups.append(_group(group.name, group.slug, models))
    unplaced = [model for label, model in shown.items() if label not in placed]
    if unplaced:
        groups.append(_group(OTHER, slugify(OTHER), unplaced))
    return groups


def _group(name: str, slug: str, models: list[dict]) -> dict:
    return {
        "name": name,
        "app_label": slug,
        "app_url": reverse("admin:nav_group", kwargs={"group": slug}),
        "has_module_perms": True,
        "models": models,
    }
