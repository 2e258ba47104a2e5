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


@register(Tags.compatibility)
def inbox_handlers_check(app_configs, **kwargs):
    from integrations.inbox import event_types_unhandled

    return [
        Error(
            f"No app handles PayTrace {event_type!r} events: they would fail in the inbox.",
            hint="Register a handler with integrations.inbox.inbox_handler_register in ready().",
            id="paysage.E011",
        )
        for event_type in event_types_unhandled()
    ]
