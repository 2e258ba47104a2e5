"""System checks that the domain apps registered what the integration machinery routes to them."""

from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def outbox_builders_check(app_configs, **kwargs):
    from integrations.outbox.registry import document_types_unbuilt

    return [
        Error(
            f"No app builds outbox documents of type {document_type!r}: such a posting could never be sent.",
            hint="Register a builder with integrations.outbox.registry.document_builder_register in ready().",
            id="paysage.E010",
        )
        for document_type in document_types_unbuilt()
    ]
