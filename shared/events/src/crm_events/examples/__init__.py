"""Golden examples: one realistic, fully fake CloudEvent per catalogue entry.

The payloads are written by hand (one module per context) and tell one customer's
lifecycle; ``crm_events.generate`` serialises them to ``shared/events/examples/`` and every
consumer test parses the committed files through ``load_golden``/``golden_examples``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from crm_events.artefacts import EXAMPLES, artefact_root, dump_json
from crm_events.base import EventData
from crm_events.envelope import CloudEvent, decode
from crm_events.examples import _contacts, _feedback, _inbound, _loyalty, _offboarding
from crm_events.examples._spec import Example, example_id

SPECS: dict[type[EventData], Example] = {
    **_contacts.EXAMPLES,
    **_feedback.EXAMPLES,
    **_loyalty.EXAMPLES,
    **_offboarding.EXAMPLES,
    **_inbound.EXAMPLES,
}

__all__ = [
    "SPECS",
    "build_example",
    "example_bytes",
    "example_id",
    "golden_examples",
    "load_golden",
]


@cache
def build_example(model: type[EventData]) -> CloudEvent:
    """Build ``model``'s example in-process (what ``generate`` writes to disk)."""
    spec = SPECS[model]
    cause = build_example(spec.caused_by) if spec.caused_by is not None else None
    return model.model_validate(spec.data).to_event(
        source=spec.source or f"/crm/{model.context}",
        event_id=example_id(model),
        time=datetime.fromisoformat(spec.time),
        cause=cause,
    )


def example_bytes(event: CloudEvent) -> bytes:
    """The committed file form of an example: pretty, sorted JSON."""
    return dump_json(event.model_dump(mode="json", exclude_none=True))


def golden_examples() -> dict[str, bytes]:
    """Committed golden examples as raw record values, keyed by event type."""
    directory = artefact_root() / EXAMPLES
    return {path.stem: path.read_bytes() for path in sorted(directory.glob("*.json"))}


def load_golden(model: type[EventData]) -> CloudEvent:
    """The committed golden example of ``model``, decoded like a consumer would."""
    return decode((artefact_root() / EXAMPLES / f"{model.event_type()}.json").read_bytes())
