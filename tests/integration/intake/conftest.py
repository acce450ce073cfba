import importlib.util
import sys
from pathlib import Path

import pytest

if "intake_factories" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "intake_factories", Path(__file__).with_name("intake_factories.py")
    )
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["intake_factories"] = _module
    _spec.loader.exec_module(_module)
factories = sys.modules["intake_factories"]


@pytest.fixture
def alpha(db):
    """(partner, agreement version, program) of platform ALPHA."""
    return factories.make_partner("ALPHA")
