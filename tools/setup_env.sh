#!/usr/bin/env bash
# One-command environment for mmdet-efl on a CPU machine (Python 3.11, no torch).
#
# Creates .venv/ in the repository root with PyTorch (CPU), MMEngine 0.10.7,
# MMCV 2.1.0 compiled with its ops, MMDetection 3.3.0, the evaluation and test
# tools, and this package in editable mode. The MMCV wheel takes ~13 minutes to
# compile on 2 cores, so it is cached outside the repository
# ($MMDET_EFL_CACHE, default ~/.cache/mmdet-efl). Re-running on a ready
# environment checks a stamp and exits without touching anything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CACHE="${MMDET_EFL_CACHE:-$HOME/.cache/mmdet-efl}"
PYTHON="${PYTHON:-python3}"
MMCV_VERSION=2.1.0

# The stamp records everything that decides the environment's contents; a
# change to any of these files rebuilds what is needed (pip skips the rest).
stamp_inputs=("$ROOT/tools/setup_env.sh" "$ROOT/setup.py" "$ROOT"/requirements/*.txt)
want_stamp="$(cat "${stamp_inputs[@]}" | sha256sum | cut -d' ' -f1)"
stamp_file="$VENV/.mmdet-efl-env"

if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$want_stamp" ]] \
   && "$VENV/bin/python" -c "import mmdet_efl, mmcv.ops" >/dev/null 2>&1; then
  echo "[setup_env] environment in $VENV is up to date"
  exit 0
fi

log() { echo "[setup_env $(date +%H:%M:%S)] $*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
CONSTRAINTS=(-c "$ROOT/requirements/constraints.txt")

log "installing PyTorch (CPU) and MMCV build requirements"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" torch numpy -r "$ROOT/requirements/build.txt"

mkdir -p "$CACHE"
shopt -s nullglob
wheels=("$CACHE"/mmcv-"$MMCV_VERSION"-*.whl)
if (( ${#wheels[@]} == 0 )); then
  log "compiling MMCV $MMCV_VERSION with ops (about 13 minutes on 2 cores); wheel cached in $CACHE"
  build_dir="$(mktemp -d)"
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="$(nproc)" \
    "${PIP[@]}" wheel -q --no-deps --no-build-isolation --no-binary mmcv \
      "${CONSTRAINTS[@]}" "mmcv==$MMCV_VERSION" -w "$build_dir"
  mv "$build_dir"/mmcv-*.whl "$CACHE"/
  rm -rf "$build_dir"
  wheels=("$CACHE"/mmcv-"$MMCV_VERSION"-*.whl)
fi
log "installing cached ${wheels[0]##*/}"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" "${wheels[0]}"

log "installing MMEngine, MMDetection, evaluation and test requirements"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" \
  -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

log "installing mmdet-efl in editable mode"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" -c "import mmdet_efl, mmcv.ops; print('[setup_env] ready: mmdet_efl', mmdet_efl.__version__)"
echo "$want_stamp" > "$stamp_file"
