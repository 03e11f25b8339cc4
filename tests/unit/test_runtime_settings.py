"""Settings never echo an API key: not in repr, not in a validation error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_runtime.settings import Role, ServiceSettings

pytestmark = pytest.mark.unit
SECRET = "s3cr3t-api-key-value"


def test_a_bad_role_is_reported_without_the_key() -> None:
    with pytest.raises(ValidationError) as raised:
        ServiceSettings(api_keys={SECRET: "root"})  # type: ignore[dict-item]

    assert SECRET not in str(raised.value)
    assert "unknown role 'root'" in str(raised.value)


def test_the_keys_are_not_in_the_repr() -> None:
    settings = ServiceSettings(api_keys={SECRET: Role.AGENT})

    assert settings.api_keys == {SECRET: Role.AGENT}
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
