# The README's commands. Each target sets up what it needs on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements*.txt policies/requirements.txt app_code/requirements.txt \
	bootstrap/requirements.txt | sha1sum | cut -c1-12)
STACK ?= prod
ARGS ?=
# The pack's and bootstrap's entry points, with their packages under the names the Pulumi CLI gives them
# (pyproject.toml's [tool.mypy] says why); .pre-commit-config.yaml runs the same command.
MYPY_ENTRY_POINTS := MYPYPATH=policies:bootstrap $(PY) -m mypy policies/__main__.py bootstrap/__main__.py

.PHONY: test preview lint bench docs system-packages clean

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

system-packages:
	@scripts/install-system-packages.sh

## make test: set up everything, then run the whole suite
test: $(STAMP) system-packages
	$(PY) -m pytest -n 2 --dist loadfile $(ARGS)

## make preview [STACK=prod] [ARGS="--json|--markdown|--policy-config FILE|--no-policies"]:
## the program and the policy pack, offline; also draws build/preview/<stack>/diagram.{mmd,svg}
preview: $(STAMP) system-packages
	@$(PY) -m offline.preview --stack $(STACK) --diagram build/preview/$(STACK) $(ARGS)

## make lint: ruff, mypy (strict) and hadolint (the services' Dockerfile), clean
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(MYPY_ENTRY_POINTS)
	$(VENV)/bin/hadolint --no-color --failure-threshold style app_code/Dockerfile

## make docs: regenerate what is generated from the code: the README's preview sample, the
## architecture diagram (docs/diagram.*), bootstrap/stack-inventory.json and policy-config.json,
## the policy reference in docs/policies.md, the cost figures of docs/cost.md and docs/multi-region.md
docs: $(STAMP) system-packages
	$(PY) -m offline.readme
	$(PY) -m offline.diagram
	$(PY) -m offline.inventory
	$(PY) -m offline.policy_docs --write
	$(PY) -m offline.cost_doc

## make bench: benchmarks, written to bench/results/
bench: $(STAMP) system-packages
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
