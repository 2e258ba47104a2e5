from django.apps import AppConfig


class SandboxSageproConfig(AppConfig):
    name = "simulators.sagepro"
    label = "sandbox_sagepro"
    verbose_name = "Sandbox: Sage Pro"
