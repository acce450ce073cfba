import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "intake_factories", Path(__file__).with_name("intake_factories.py")
)
factories = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("intake_factories", factories)
_spec.loader.exec_module(factories)


@pytest.fixture
def alpha(db):
    """(partner, agreement version, program) of platform ALPHA."""
    return factories.make_partner("ALPHA")
