import importlib.util
import sys
from pathlib import Path

import pytest

_path = Path(__file__).resolve().parents[2] / "integration" / "intake" / "intake_factories.py"
if "intake_factories" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("intake_factories", _path)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["intake_factories"] = _module
    _spec.loader.exec_module(_module)
factories = sys.modules["intake_factories"]


@pytest.fixture
def alpha(db):
    return factories.make_partner("ALPHA")


@pytest.fixture
def beta(db):
    return factories.make_partner("BETA")
