# The two commands of the README. Both build the environment first
# (tools/setup_env.sh: seconds when it is ready, ~15 minutes the first time).
PY := .venv/bin/python
DATA := data/synthetic_lvis
DEMO_CFG := configs/demo/atss_r18_fpn_efl-demo_synthetic-lvis.py

.PHONY: env test demo

env:
	@bash tools/setup_env.sh

test: env
	$(PY) -m pytest tests -n 2 -q --durations=15

demo: env
	@test -f $(DATA)/annotations/train.json || $(PY) tools/generate_dataset.py $(DATA)
	$(PY) tools/train.py $(DEMO_CFG) --work-dir work_dirs/demo_efl
