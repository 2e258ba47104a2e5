#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.management import execute_from_command_line

    from portal.deploy_secrets import WeakSecretSettings

    try:
        execute_from_command_line(sys.argv)
    except WeakSecretSettings as exc:
        # The message names each setting to fix; a traceback through settings loading would bury it.
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
