#!/usr/bin/env bash
# Multi-process, multi-node testing (torchrun), as mmdet's tools/dist_test.sh:
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC_PER_NODE [test.py flags]
# One node by default; across nodes set NNODES, NODE_RANK, MASTER_ADDR and
# PORT as for tools/dist_train.sh. CUDA (NCCL) or CPU-only (gloo).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
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
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
