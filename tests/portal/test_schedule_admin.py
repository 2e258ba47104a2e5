"""Schedules come from code: no role may touch them, and even a superuser's Schedule form takes only
Paysage's own tasks, with no hook and with arguments that fit the task (django-q2 would run anything)."""

import pytest
from django.urls import reverse
from django_q.models import Schedule

from integrations.schedules import SCHEDULES, schedule_funcs_allowed
from portal.queue import TASKS
from tests.admin_pages import form_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:django_q_schedule_add")


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def schedule_form(**fields) -> dict:
    return {
        "name": "by hand",
        "func": "integrations.tasks.postings_post",
        "schedule_type": Schedule.MINUTES,
        "minutes": "5",
        "repeats": "-1",
        "next_run_0": "2030-01-01",
        "next_run_1": "00:00:00",
        **fields,
    }


def refused(client, **fields) -> list[str]:
    """The form's errors for a schedule that must not be saved; no row is written."""
    before = Schedule.objects.count()
    response = client.post(ADD, schedule_form(**fields))
    assert response.status_code == 200, "refused with a form error, not saved"
    assert Schedule.objects.count() == before
    form = response.context["adminform"].form
    return [error for errors in form.errors.values() for error in errors]


def test_a_superuser_cannot_schedule_os_system(superuser_client):
    errors = refused(superuser_client, func="os.system", args="'id > /tmp/pwned'")
    assert errors == [f"os.system is not one of Paysage's tasks. Choose one of: {', '.join(sorted(TASKS))}."]
    assert not Schedule.objects.filter(func="os.system").exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"func": "builtins.exec"}, "builtins.exec is not one of Paysage's tasks"),
        ({"func": "integrations.tasks.postings_post ; os.system"}, "is not one of Paysage's tasks"),
        ({"hook": "os.system"}, "take no hook"),
        # django-q2 takes its options out of the keywords: a chain would run os.system next.
        ({"kwargs": "q_options={'chain': [('os.system', ('id',))]}"}, "keyword argument 'q_options'"),
        ({"kwargs": "{'hook': 'os.system'}"}, "unexpected keyword argument 'hook'"),
        (
            {"func": "integrations.tasks.alert_deliver", "args": "1", "intended_date_kwarg": "hook"},
            "unexpected keyword argument 'hook'",
        ),
        ({"args": "1"}, "too many positional arguments"),
        ({"func": "integrations.tasks.alert_deliver"}, "missing a required argument: 'alert_id'"),
        ({"func": "integrations.tasks.alert_deliver", "args": "__import__('os')"}, "must be Python literals"),
        ({"func": "integrations.tasks.alert_deliver", "args": "1", "kwargs": "[1]"}, "not a dict"),
        ({"func": "integrations.tasks.alert_deliver", "kwargs": "alert_id=1, 2"}, "must be Python literals"),
    ],
    ids=lambda value: str(value)[:60],
)
def test_the_form_refuses_what_would_run_other_code_or_fail(superuser_client, fields, error):
    errors = refused(superuser_client, **fields)
    assert any(error in message for message in errors), errors


def test_a_declared_task_with_fitting_arguments_is_scheduled(superuser_client):
    assert superuser_client.post(ADD, schedule_form()).status_code == 302
    data = schedule_form(name="alert", func="integrations.tasks.alert_deliver", kwargs="alert_id=7")
    assert superuser_client.post(ADD, data).status_code == 302
    assert set(Schedule.objects.filter(name__in=["by hand", "alert"]).values_list("func", flat=True)) == {
        "integrations.tasks.postings_post",
        "integrations.tasks.alert_deliver",
    }


def test_every_code_defined_schedule_passes_its_own_form(superuser_client):
    for name, func, _ in SCHEDULES:
        schedule = Schedule.objects.get(name=name)
        url = reverse("admin:django_q_schedule_change", args=[schedule.pk])
        assert superuser_client.post(url, form_data(superuser_client.get(url))).status_code == 302, func


def test_the_allow_list_is_what_the_project_declares():
    allowed = schedule_funcs_allowed()
    assert allowed == set(TASKS)  # declared with portal.queue.task, nothing typed by hand
    assert {func for _, func, _ in SCHEDULES} <= allowed
    assert {"integrations.tasks.alert_deliver", "portal.tasks.cluster_probe"} <= allowed
