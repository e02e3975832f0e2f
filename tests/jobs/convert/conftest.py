"""Every conversion-engine test needs torch (the fixtures are in tests/support/convert_fixtures.py)."""

import pytest


@pytest.fixture(autouse=True)
def _torch_needed(torch_needed):
    pass
