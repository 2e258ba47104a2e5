"""The django-q2 schedules Paysage runs, defined in code and written idempotently by name."""

from importlib import import_module

from django_q.models import Schedule

from portal.queue import TASKS, task_cluster

SCHEDULES = (
    ("paysage: drain webhook inbox", "integrations.tasks.webhook_events_drain", 1),
    ("paysage: post pending ERP documents", "integrations.tasks.postings_post", 1),
    ("paysage: sync PayTrace", "payments.tasks.paytrace_sync", 1),
    ("paysage: tell storefronts their orders' status", "payments.tasks.callbacks_deliver", 1),
    ("paysage: decide what a crash left undecided", "payments.tasks.transactions_undecided_decide", 1),
    ("paysage: bill subscriptions", "payments.tasks.subscriptions_bill", 15),
    ("paysage: reconcile settlement batches", "payments.tasks.settlements_reconcile_task", 60),
    ("paysage: compare ERP net with PayTrace net", "payments.tasks.erp_net_reconcile_task", 24 * 60),
    ("paysage: sync customers both ways", "customers.tasks.customers_sync", 5),
    ("paysage: sync invoices from the ERPs", "payments.invoice_tasks.erp_invoices_sync_task", 5),
    ("paysage: reconcile invoices with the ERPs", "payments.invoice_tasks.invoices_reconcile_task", 60),
    ("paysage: fold the unapplied running total", "payments.tasks.unapplied_totals_compact_task", 10),
)


def schedules_ensure() -> None:
    """Write each schedule, run by the cluster of its task's queue (see `portal.queue`)."""
    schedule_funcs_allowed()  # declares every scheduled task
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "cluster": task_cluster(TASKS[func]),
            },
        )


def schedule_funcs_allowed() -> frozenset[str]:
    """What a schedule may run: the tasks the project declares with `portal.queue.task`. The modules of
    the schedules above are imported first, so their tasks are declared in every process."""
    for _, func, _ in SCHEDULES:
        import_module(func.rpartition(".")[0])
    return frozenset(TASKS)
