# The two commands of the README. Both build the environment first
# (tools/setup_env.sh: seconds when it is ready, ~15 minutes the first time).
PY := .venv/bin/python

# The support matrix (README "Supported stacks"): one file per stack in
# requirements/stacks/. `make env` / `make test` build and test the default
# stack in .venv; `make compat STACK=NAME` builds NAME in .venv-NAME and runs
# the test suite there (TESTS=... for a part of it); `make compat-all` runs
# every stack in turn.
DEFAULT_STACK := py311-torch2.13
STACK ?= $(DEFAULT_STACK)
STACKS := $(sort $(basename $(notdir $(wildcard requirements/stacks/*.txt))))
STACK_VENV = $(if $(filter $(DEFAULT_STACK),$(STACK)),.venv,.venv-$(STACK))
TESTS ?= tests projects/LongTailBenchmark/tests

.PHONY: env test compat compat-all demo ablation mutation

env:
	@bash tools/setup_env.sh

test: env
	$(PY) -m pytest $(TESTS) -n 2 -q --durations=15

compat:
	@STACK=$(STACK) bash tools/setup_env.sh
	$(STACK_VENV)/bin/python -m pytest $(TESTS) -n 2 -q -rs --durations=10

compat-all:
	@set -e; for s in $(STACKS); do $(MAKE) --no-print-directory compat STACK=$$s; done

demo: env
	$(PY) projects/LongTailBenchmark/tools/longtail_demo.py

# EFL Tables 3 and 4 on the simulator (10 seeds) and FL vs EFL on the
# detector benchmark (3 seeds): about 3 hours on 2 cores; resumable.
ablation: env
	$(PY) projects/LongTailBenchmark/tools/longtail_ablation.py --out work_dirs/longtail_ablation

# Mutation score of the modules whose bugs would corrupt results (about 50
# minutes on 2 cores; not part of CI). docs/mutation.md has the measured table.
mutation: env
	$(PY) -m pip install -q -c requirements/stacks/$(DEFAULT_STACK).txt -r requirements/mutation.txt
	rm -rf mutants
	nice -n 10 $(PY) tools/mutation.py --max-children 2
