# Shorthands for tasks.py, which needs nothing but Python 3.11+.
PYTHON ?= python3

.PHONY: run test lint bench
run:
	$(PYTHON) tasks.py run
test:
	$(PYTHON) tasks.py test
lint:
	$(PYTHON) tasks.py lint
bench:
	$(PYTHON) tasks.py bench $(if $(FULL),--full,)
