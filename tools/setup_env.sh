#!/usr/bin/env bash
# One-command environment for mmdet-efl on a CPU machine, for any stack of the
# support matrix (requirements/stacks/STACK.txt; README "Supported stacks").
#
#   bash tools/setup_env.sh                        # today's stack, in .venv
#   STACK=py38-torch2.1 bash tools/setup_env.sh    # in .venv-py38-torch2.1
#
# Creates the virtual environment with the stack's Python (its file's
# "# python: X.Y" line; found with pyenv or as pythonX.Y on PATH, or given as
# $PYTHON), PyTorch, MMEngine, MMCV compiled with its ops, MMDetection, the
# evaluation and test tools, and this package in editable mode, all at the
# versions the stack file pins. The MMCV wheel takes ~13 minutes to compile on
# 2 cores, so it is cached outside the repository, one per torch version
# ($MMDET_EFL_CACHE, default ~/.cache/mmdet-efl). Re-running on a ready
# environment checks a stamp and exits without touching anything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_STACK=py311-torch2.13
STACK="${STACK:-$DEFAULT_STACK}"
STACK_FILE="$ROOT/requirements/stacks/$STACK.txt"
if [[ ! -f "$STACK_FILE" ]]; then
  echo "[setup_env] unknown stack '$STACK': no $STACK_FILE. Stacks:" >&2
  ls "$ROOT/requirements/stacks" | sed 's/\.txt$//; s/^/  /' >&2
  exit 2
fi
if [[ "$STACK" == "$DEFAULT_STACK" ]]; then
  VENV="${VENV:-$ROOT/.venv}"
else
  VENV="${VENV:-$ROOT/.venv-$STACK}"
fi
CACHE="${MMDET_EFL_CACHE:-$HOME/.cache/mmdet-efl}"

py_version="$(sed -n 's/^# python: *\([0-9.]*\).*/\1/p' "$STACK_FILE" | head -1)"
pick() {  # the first of the given words that names a working interpreter
  local cand
  for cand in "$@"; do
    if [[ -x "$cand" ]] || command -v "$cand" >/dev/null 2>&1; then
      if "$cand" -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(v != "'"$py_version"'")' 2>/dev/null; then
        echo "$cand"; return 0
      fi
    fi
  done
  return 1
}
pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
if [[ -n "${PYTHON:-}" ]]; then
  pick "$PYTHON" >/dev/null || {
    echo "[setup_env] PYTHON=$PYTHON is not Python $py_version, which stack $STACK needs" >&2
    exit 2; }
else
  PYTHON="$(pick "python$py_version" "$pyenv_root"/versions/"$py_version".*/bin/python \
              python3 python)" || {
    echo "[setup_env] stack $STACK needs Python $py_version: install it (pyenv install $py_version)" \
         "or set PYTHON=/path/to/python$py_version" >&2
    exit 2; }
fi

# The stamp records everything that decides the environment's contents; a
# change to any of these files rebuilds what is needed (pip skips the rest).
stamp_inputs=("$ROOT/tools/setup_env.sh" "$ROOT/setup.py" "$STACK_FILE"
              "$ROOT"/requirements/*.txt)
want_stamp="$(cat "${stamp_inputs[@]}" | sha256sum | cut -d' ' -f1)"
stamp_file="$VENV/.mmdet-efl-env"

if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$want_stamp" ]] \
   && "$VENV/bin/python" -c "import mmdet_efl, mmcv.ops" >/dev/null 2>&1; then
  echo "[setup_env] environment $STACK in $VENV is up to date"
  exit 0
fi

log() { echo "[setup_env $(date +%H:%M:%S)] $*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment $VENV for stack $STACK ($PYTHON)"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
CONSTRAINTS=(-c "$STACK_FILE")

log "installing PyTorch and MMCV build requirements"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" torch numpy -r "$ROOT/requirements/build.txt"

torch_version="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
mmcv_version="$(sed -n 's/^mmcv==\([^ ]*\).*/\1/p' "$STACK_FILE")"
wheel_dir="$CACHE/torch-$torch_version"
py_tag="cp${py_version/./}"
mkdir -p "$wheel_dir"
shopt -s nullglob
wheels=("$wheel_dir"/mmcv-"$mmcv_version"-"$py_tag"-*.whl)
if (( ${#wheels[@]} == 0 )); then
  log "compiling MMCV $mmcv_version with ops for torch $torch_version (about 13 minutes on 2 cores); wheel cached in $wheel_dir"
  build_dir="$(mktemp -d)"
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="$(nproc)" \
    "${PIP[@]}" wheel -q --no-deps --no-build-isolation --no-binary mmcv \
      "${CONSTRAINTS[@]}" "mmcv==$mmcv_version" -w "$build_dir"
  mv "$build_dir"/mmcv-*.whl "$wheel_dir"/
  rm -rf "$build_dir"
  wheels=("$wheel_dir"/mmcv-"$mmcv_version"-"$py_tag"-*.whl)
fi
log "installing cached ${wheels[0]##*/}"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" "${wheels[0]}"

log "installing MMEngine, MMDetection, evaluation and test requirements"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" \
  -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

log "installing mmdet-efl in editable mode"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" -c "import mmdet_efl, mmcv.ops; print('[setup_env] ready: mmdet_efl', mmdet_efl.__version__, 'on stack $STACK')"
echo "$want_stamp" > "$stamp_file"
