"""Every topic of the catalogue → one service call. A type added to ``crm_events`` later is
consumed without a change here; validation, business keys and DLQ routing happen in the
runtime, as for every service."""

from __future__ import annotations

from collections.abc import Iterable

from crm_events import REGISTRY, CloudEvent, EventData
from crm_events.offboarding import PersonalDataErasureRequested
from crm_insights import translate
from crm_insights.decisions import ErasureRequest
from crm_insights.service import InsightsService
from crm_runtime.app import ServiceRuntime


def register_handlers(
    runtime: ServiceRuntime,
    service: InsightsService,
    models: Iterable[type[EventData]] = REGISTRY.models,
) -> None:
    customer = (service.customers, lambda data: data.subject)
    subject = (service.subjects, lambda data: data.subject)

    async def observe(data: EventData, event: CloudEvent) -> bool:
        return await service.observe(translate.observed(data, event))

    async def erasure_requested(data: EventData, event: CloudEvent) -> bool:
        """On the journey like every event, then insights disposes and attests (issue 9)."""
        assert isinstance(data, PersonalDataErasureRequested)
        observed = await service.observe(translate.observed(data, event))
        request = ErasureRequest(event.id, event.correlationid, data.customer_id, data.case_id)
        erased = await service.erase(request, runtime.clock.now())
        return observed or erased

    for model in models:
        about_customer = model.subject_field == translate.CUSTOMER_FIELD
        handler = erasure_requested if model is PersonalDataErasureRequested else observe
        runtime.on(model, handler, aggregate=customer if about_customer else subject)
