from django.apps import AppConfig


class SandboxX3Config(AppConfig):
    name = "simulators.x3"
    label = "sandbox_x3"
    verbose_name = "Sandbox: Sage X3"
