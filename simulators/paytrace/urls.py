"""PayTrace v1 paths, served below /sandbox/paytrace/."""

from django.urls import path

from simulators.paytrace.views import auth, checks, reports, transactions, vault

urlpatterns = [
    path("oauth/token", auth.token),
    path("v1/ping", auth.ping),
    path("v1/transactions/sale/keyed", transactions.sale_keyed),
    path("v1/transactions/sale/by_customer", transactions.sale_by_customer),
    path("v1/transactions/sale/by_transaction", transactions.sale_by_transaction),
    path("v1/transactions/sale/pt_protect", transactions.sale_protect),
    path("v1/transactions/authorization/keyed", transactions.authorization_keyed),
    path("v1/transactions/authorization/by_customer", transactions.authorization_by_customer),
    path("v1/transactions/authorization/pt_protect", transactions.authorization_protect),
    path("v1/transactions/authorization/capture", transactions.capture),
    path("v1/transactions/void", transactions.void),
    path("v1/transactions/refund/for_transaction", transactions.refund_for_transaction),
    path("v1/transactions/refund/keyed", transactions.refund_keyed),
    path("v1/transactions/refund/to_customer", transactions.refund_to_customer),
    path("v1/transactions/settle", transactions.settle),
    path("v1/transactions/export/by_id", reports.export_by_id),
    path("v1/transactions/export/by_date_range", reports.export_by_date_range),
    path("v1/checks/sale/by_account", checks.sale_by_account),
    path("v1/checks/sale/by_customer", checks.sale_by_customer),
    path("v1/checks/hold/by_account", checks.hold_by_account),
    path("v1/checks/hold/by_customer", checks.hold_by_customer),
    path("v1/checks/manage/fund", checks.fund),
    path("v1/checks/manage/void", checks.void),
    path("v1/checks/refund/by_transaction", checks.refund_by_transaction),
    path("v1/customer/create", vault.customer_create),
    path("v1/customer/create_from_transaction", vault.customer_create_from_transaction),
    path("v1/customer/update", vault.customer_update),
    path("v1/customer/delete", vault.customer_delete),
    path("v1/customer/export", vault.customer_export),
    path("v1/recurrence/create", vault.recurrence_create),
    path("v1/recurrence/delete", vault.recurrence_delete),
    path("v1/recurrence/export_approved", vault.recurrence_export_approved),
    path("v1/batches/export", reports.batches_export),
    path("v1/batches/export_one", reports.batch_export_one),
    path("v1/batches/transaction_list", reports.batch_transaction_list),
]
