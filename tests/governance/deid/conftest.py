import pytest

from governance.deid.engine import default_detector


@pytest.fixture(scope="session")
def detector():
    return default_detector(False)
