"""Serve the portal and a django-q2 cluster beside it; Ctrl-C stops both."""

import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web portal (runserver) and a django-q2 cluster together until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        manage = [sys.executable, "manage.py"]
        processes = [
            subprocess.Popen([*manage, "qcluster"]),  # noqa: S603 (our own interpreter and script)
            subprocess.Popen([*manage, "runserver", addrport, "--noreload"]),  # noqa: S603
        ]
        self.stdout.write(
            self.style.SUCCESS(f"Portal at http://{addrport}/ (admin: /admin/). Ctrl-C stops it.")
        )
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [process.args[-1] for process in processes if process.returncode not in (0, -2, 130, None)]
        if failed:
            self.stderr.write(f"stopped: {', '.join(map(str, failed))} exited with an error")
