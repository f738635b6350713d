"""Root conftest: the kernel's fixtures (real NATS, real databases) for every test."""

pytest_plugins = ["shared.testkit.fixtures"]
