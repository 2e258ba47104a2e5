"""Run the simulated Sage Pro scheduled import once (or every few seconds) over a drop folder."""

import time

from django.core.management.base import BaseCommand

from simulators.sagepro.drop import sandbox_sagepro_drop_process
from simulators.sagepro.services import DEFAULT_SITE


class Command(BaseCommand):
    help = "Import pending Sage Pro drop-folder files, write result files and refresh the exports."

    def add_arguments(self, parser):
        parser.add_argument(
            "--folder", required=True, help="Drop folder holding in/, out/, archive/, export/"
        )
        parser.add_argument("--site", default=DEFAULT_SITE)
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: run once)")

    def handle(self, *, folder: str, site: str, every: float, **options) -> None:
        while True:
            for result in sandbox_sagepro_drop_process(folder=folder, site=site):
                self.stdout.write(f"imported -> {result}")
            if not every:
                return
            time.sleep(every)
