"""The test kit: decider specifications, and fixtures for real NATS and real databases."""
