from django.apps import AppConfig


class SandboxSage300Config(AppConfig):
    name = "simulators.sage300"
    label = "sandbox_sage300"
    verbose_name = "Sandbox: Sage 300"
