#!/usr/bin/env bash
# Multi-process, multi-node testing (torchrun), as mmdet's tools/dist_test.sh:
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC_PER_NODE [test.py flags]
# One node by default; across nodes set NNODES, NODE_RANK, MASTER_ADDR and
# PORT as for tools/dist_train.sh. CUDA (NCCL) or CPU-only (gloo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/dist_checks.sh
source "$ROOT/tools/dist_checks.sh"
(($# >= 3)) || dist_fail "usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC_PER_NODE [test.py flags]"
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
PYTHON=${PYTHON:-python}
dist_check "$CONFIG" "$NPROC"

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
