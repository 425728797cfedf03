# The two commands of the README. Both build the environment first
# (tools/setup_env.sh: seconds when it is ready, ~15 minutes the first time).
PY := .venv/bin/python

.PHONY: env test demo

env:
	@bash tools/setup_env.sh

test: env
	$(PY) -m pytest tests -n 2 -q --durations=15

demo: env
	$(PY) tools/longtail_demo.py
