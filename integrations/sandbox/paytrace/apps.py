from django.apps import AppConfig


class SandboxPaytraceConfig(AppConfig):
    name = "integrations.sandbox.paytrace"
    label = "sandbox_paytrace"
    verbose_name = "Sandbox: PayTrace"
