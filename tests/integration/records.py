"""Records the integration tests publish (a helper module: test modules never import one
another)."""

from __future__ import annotations

from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden


def contact(customer_id: str, n: int) -> bytes:
    golden = load_golden(ContactLogged)
    data = {**golden.data, "customer_id": customer_id, "summary": f"call {n}"}
    data["occurred_at"] = f"2026-03-01T{n // 60 % 24:02d}:{n % 60:02d}:00+00:00"
    return golden.model_copy(
        update={"id": f"evt-{customer_id}-{n}", "subject": customer_id, "data": data}
    ).to_bytes()
