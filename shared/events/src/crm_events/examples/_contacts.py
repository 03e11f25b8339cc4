"""Golden examples of the contacts context."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.contacts import (
    AccountOwnerChanged,
    AccountTeamChanged,
    ContactLogged,
    CustomerClassified,
    CustomerProfileUpdated,
    CustomerRegistered,
    EmployeeHandoverCompleted,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
)
from crm_events.examples._spec import COLLEAGUE, CUSTOMER, OWNER, Example
from crm_events.inbound import EmployeeDeparted, PurchaseRecorded

EXAMPLES: dict[type[EventData], Example] = {
    CustomerRegistered: Example(
        time="2025-01-06T09:00:00Z",
        data={
            "customer_id": CUSTOMER,
            "kind": "person",
            "display_name": "Example Customer",
            "email": "customer@example.com",
            "phone": "+1-555-0100",
            "owner_id": OWNER,
            "account_team": [COLLEAGUE],
        },
    ),
    CustomerProfileUpdated: Example(
        time="2025-01-10T11:20:00+01:00",
        data={
            "customer_id": CUSTOMER,
            "email": "customer.new@example.com",
            "account_team": [COLLEAGUE, "emp-203"],
            "date_of_birth": "1988-04-12",
            "updated_by": OWNER,
        },
    ),
    CustomerClassified: Example(
        time="2025-01-15T14:30:01Z",
        caused_by=PurchaseRecorded,
        data={
            "customer_id": CUSTOMER,
            "classification": "new",
            "previous": "potential",
            "reason": "first purchase recorded",
        },
    ),
    ContactLogged: Example(
        time="2025-01-20T10:45:00Z",
        data={
            "customer_id": CUSTOMER,
            "channel": "phone",
            "direction": "outbound",
            "employee_id": OWNER,
            "summary": "Welcome call after the first order; delivery arrived in good shape.",
            "occurred_at": "2025-01-20T10:30:00Z",
            "duration_seconds": 540,
        },
    ),
    FollowUpScheduled: Example(
        time="2025-01-20T10:45:01Z",
        caused_by=ContactLogged,
        data={
            "customer_id": CUSTOMER,
            "follow_up_id": "fu-cus-1001-2025-02",
            "due_at": "2025-02-19T17:00:00Z",
            "owner_id": OWNER,
        },
    ),
    FollowUpOverdue: Example(
        time="2025-02-19T17:00:05Z",
        caused_by=FollowUpScheduled,
        data={
            "customer_id": CUSTOMER,
            "follow_up_id": "fu-cus-1001-2025-02",
            "due_at": "2025-02-19T17:00:00Z",
            "owner_id": OWNER,
        },
    ),
    FollowUpCompleted: Example(
        time="2025-02-20T10:30:00Z",
        caused_by=ContactLogged,
        data={
            "customer_id": CUSTOMER,
            "follow_up_id": "fu-cus-1001-2025-02",
            "due_at": "2025-02-19T17:00:00Z",
            "completed_at": "2025-02-20T10:30:00Z",
            "employee_id": OWNER,
            "on_time": False,
        },
    ),
    AccountOwnerChanged: Example(
        time="2025-02-28T18:00:01Z",
        caused_by=EmployeeDeparted,
        data={
            "customer_id": CUSTOMER,
            "previous_owner_id": OWNER,
            "new_owner_id": COLLEAGUE,
            "reason": "employee_departed",
        },
    ),
    AccountTeamChanged: Example(
        time="2025-02-28T18:00:01Z",
        caused_by=EmployeeDeparted,
        data={
            "customer_id": CUSTOMER,
            "members": {COLLEAGUE: "deputy", "emp-203": "manager"},
            "removed": [OWNER],
            "reason": "employee_departed",
        },
    ),
    EmployeeHandoverCompleted: Example(
        time="2025-02-28T18:00:02Z",
        caused_by=EmployeeDeparted,
        data={
            "employee_id": OWNER,
            "successor_id": COLLEAGUE,
            "accounts_reassigned": 42,
            "team_seats_removed": 7,
        },
    ),
}
