from django.apps import AppConfig


class SandboxPaytraceConfig(AppConfig):
    name = "simulators.paytrace"
    label = "sandbox_paytrace"
    verbose_name = "Sandbox: PayTrace"
