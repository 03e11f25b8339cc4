"""Portability (issue 9): a manager requests an export, offboarding adds its own section,
the other services' sections arrive as events, and the bundle is delivered once."""

from __future__ import annotations

import json

import pytest

from crm_offboarding.aftercare import ExportSection
from crm_offboarding.views import export_bundle
from crm_runtime.errors import DomainError
from tests.unit.offboarding_plugin import NOW, Offboarding

pytestmark = pytest.mark.unit


def section(service: str) -> ExportSection:
    body = json.dumps({"service": service, "records": [1, 2]})
    return ExportSection(service, f"{service}.export.v1", body, NOW, f"evt-export-{service}")


async def test_the_bundle_is_delivered_once_every_section_is_in(offb: Offboarding) -> None:
    case = await offb.open_case()
    requested = await offb.service.request_export(case.case_id, "exp-1", "emp-mgr", "cmd-exp")
    assert requested.exports["exp-1"].missing == ["contacts", "feedback", "loyalty"]
    (request,) = offb.published("personal-data-export-requested")
    assert request.data["services"] == ["contacts", "feedback", "loyalty", "offboarding"]

    for service in ("contacts", "feedback", "loyalty"):
        assert await offb.service.export_section(case.case_id, "exp-1", section(service))
    assert not await offb.service.export_section(case.case_id, "exp-1", section("contacts"))

    done = await offb.service.case(case.case_id)
    (delivered,) = offb.published("personal-data-export-delivered")
    assert delivered.data["export_id"] == "exp-1"
    bundle = export_bundle(done, done.exports["exp-1"])
    assert sorted(bundle["sections"]) == ["contacts", "feedback", "loyalty", "offboarding"]
    assert bundle["contract"] == "crm.offboarding.personal-data-exported.v1"
    assert bundle["sections"]["contacts"]["data"] == {"service": "contacts", "records": [1, 2]}
    own = bundle["sections"]["offboarding"]
    assert own["section_version"] == "offboarding.export.v1"
    assert own["data"]["customer_id"] == "cus-1"


async def test_an_export_after_the_erasure_request_is_refused(offb: Offboarding) -> None:
    case = await offb.exited()
    assert case.exit_agreement is not None
    await offb.sweep(case.exit_agreement.effective_date)
    await offb.sweep(case.exit_agreement.effective_date + offb.service.rules.retention)

    with pytest.raises(DomainError, match="erased"):
        await offb.service.request_export(case.case_id, "exp-1", "emp-mgr", "cmd-exp")


async def test_a_section_for_an_unknown_export_is_refused(offb: Offboarding) -> None:
    case = await offb.open_case()
    with pytest.raises(DomainError, match="no export"):
        await offb.service.export_section(case.case_id, "exp-x", section("contacts"))
