#!/usr/bin/env bash
# Multi-process, multi-node training (torchrun), as mmdet's tools/dist_train.sh:
#   tools/dist_train.sh CONFIG NPROC_PER_NODE [train.py flags]
# One node by default. On each of N nodes run the same command with
#   NNODES=N NODE_RANK=0..N-1 MASTER_ADDR=<address of node 0> PORT=<free port>
# Works with CUDA (one process per GPU, NCCL) and on CPU-only builds (gloo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/dist_checks.sh
source "$ROOT/tools/dist_checks.sh"
(($# >= 2)) || dist_fail "usage: tools/dist_train.sh CONFIG NPROC_PER_NODE [train.py flags]"
CONFIG=$1
NPROC=$2
dist_check "$CONFIG" "$NPROC"
dist_torchrun "$NPROC" "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
