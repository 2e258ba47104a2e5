import pytest

from integrations.models import ErpPosting
from portal.lifecycle import InvalidTransition, StaleTransition, status_transition
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def posting():
    return ErpPosting.objects.create(
        connection=ConnectionFactory(system="sage_300"), document_type="receipt", reference="PT-1"
    )


def test_allowed_transition_is_saved(posting):
    status_transition(instance=posting, to_status=ErpPosting.Status.IN_PROGRESS)
    posting.refresh_from_db()
    assert posting.status == ErpPosting.Status.IN_PROGRESS


def test_forbidden_transition_raises_and_changes_nothing(posting):
    with pytest.raises(InvalidTransition):
        status_transition(instance=posting, to_status=ErpPosting.Status.POSTED, erp_document_number="X")
    posting.refresh_from_db()
    assert posting.status == ErpPosting.Status.PENDING


def test_transition_to_the_same_status_is_a_no_op(posting):
    assert status_transition(instance=posting, to_status=ErpPosting.Status.PENDING) is posting


def test_concurrent_change_is_detected(posting):
    stale = ErpPosting.objects.get(pk=posting.pk)
    status_transition(instance=posting, to_status=ErpPosting.Status.IN_PROGRESS)
    with pytest.raises(StaleTransition):
        status_transition(instance=stale, to_status=ErpPosting.Status.CANCELLED)


def test_extra_fields_are_written_with_the_status(posting):
    status_transition(instance=posting, to_status=ErpPosting.Status.IN_PROGRESS)
    status_transition(instance=posting, to_status=ErpPosting.Status.POSTED, erp_document_number="PY-42")
    posting.refresh_from_db()
    assert (posting.status, posting.erp_document_number) == ("posted", "PY-42")


@pytest.mark.parametrize(
    "model_path",
    [
        "integrations.models.WebhookEvent",
        "integrations.models.ErpPosting",
        "payments.models.Transaction",
        "payments.models.Order",
        "payments.models.Invoice",
        "payments.models.SettlementBatch",
        "payments.models.Subscription",
        "payments.models.SubscriptionCharge",
        "payments.models.RiskAssessment",
        "customers.models.DuplicateCandidate",
    ],
)
def test_every_lifecycle_declares_all_its_statuses(model_path):
    from django.utils.module_loading import import_string

    model = import_string(model_path)
    statuses = {value for value, _ in model.Status.choices}
    assert set(model.TRANSITIONS) == statuses
    assert all(targets <= statuses for targets in model.TRANSITIONS.values())
