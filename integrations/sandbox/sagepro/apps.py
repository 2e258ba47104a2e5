from django.apps import AppConfig


class SandboxSageproConfig(AppConfig):
    name = "integrations.sandbox.sagepro"
    label = "sandbox_sagepro"
    verbose_name = "Sandbox: Sage Pro"
