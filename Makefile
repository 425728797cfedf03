# The two commands of the README. Both build the environment first
# (tools/setup_env.sh: seconds when it is ready, ~15 minutes the first time).
PY := .venv/bin/python

.PHONY: env test demo ablation mutation

env:
	@bash tools/setup_env.sh

test: env
	$(PY) -m pytest tests -n 2 -q --durations=15

demo: env
	$(PY) tools/longtail_demo.py

# EFL Tables 3 and 4 on the simulator (10 seeds) and FL vs EFL on the
# detector benchmark (3 seeds): about 3 hours on 2 cores; resumable.
ablation: env
	$(PY) tools/longtail_ablation.py --out work_dirs/longtail_ablation

# Mutation score of the modules whose bugs would corrupt results (about 40
# minutes on 2 cores; not part of CI). docs/mutation.md has the measured table.
mutation: env
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/mutation.txt
	rm -rf mutants
	nice -n 10 $(PY) tools/mutation.py --max-children 2
