"""The stock tests' fixtures, from fixtures.py (where the v1 stock API's tests find them too)."""

from .fixtures import clock as clock
from .fixtures import district as district
from .fixtures import phc as phc
from .fixtures import session as session
from .fixtures import store as store
