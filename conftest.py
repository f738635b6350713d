"""Root conftest: the kernel's fixtures (real NATS, real databases) for every test."""

import pytest

pytest_plugins = ["shared.testkit.fixtures"]

# The fault tests' oracle explains its asserts as a test's do; tests/cluster imports it too,
# and is collected first, so it is registered here, before either is imported.
pytest.register_assert_rewrite("tests.faults.oracle")
