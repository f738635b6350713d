"""Root conftest: the kernel's fixtures (real NATS, real databases) for every test, and the
order the suite runs in."""

import pytest

pytest_plugins = ["shared.testkit.fixtures"]

# The fault tests' oracle explains its asserts as a test's do; tests/cluster imports it too,
# and is collected first, so it is registered here, before either is imported.
pytest.register_assert_rewrite("tests.faults.oracle")

#: The longest files, longest first (minutes each, against seconds for most): `tasks.py test`
#: hands whole files to parallel workers (pytest-xdist, `--dist loadfile`) in collection
#: order, so these start at once and no worker is left with one of them at the end.
LONGEST_FIRST = (
    "tests/contracts/test_schemathesis.py",
    "tests/browser/test_journeys.py",
    "tests/cluster/",
    "tests/faults/test_restore.py",
    "tests/faults/test_kills.py",
    "tests/e2e/test_scenarios.py",
    "tests/faults/",
    "tests/e2e/",
    "tests/contracts/",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next(
        (i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)),
        len(LONGEST_FIRST),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: a file's tests stay together and in their order
