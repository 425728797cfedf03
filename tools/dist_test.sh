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
dist_check "$CONFIG" "$NPROC"
dist_torchrun "$NPROC" "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
