from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "simulators"
    label = "sandbox"
    verbose_name = "Sandbox simulators"
