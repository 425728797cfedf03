#!/usr/bin/env bash
# Multi-process, multi-node training (torchrun), as mmdet's tools/dist_train.sh:
#   tools/dist_train.sh CONFIG NPROC_PER_NODE [train.py flags]
# One node by default. On each of N nodes run the same command with
#   NNODES=N NODE_RANK=0..N-1 MASTER_ADDR=<address of node 0> PORT=<free port>
# Works with CUDA (one process per GPU, NCCL) and on CPU-only builds (gloo).
set -euo pipefail
CONFIG=$1
NPROC=$2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-python}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
