"""Staff logins for tests that act as one of the three roles."""

from django.contrib.auth.models import Group

from tests.factories import UserFactory


def staff_user(*, role: str | None, username: str | None = None):
    """A staff user in `role`'s group, or a superuser when `role` is None."""
    user = UserFactory(
        username=username or (role or "root").lower().replace(" ", "-"), is_superuser=role is None
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user
