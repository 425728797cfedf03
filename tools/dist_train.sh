#!/usr/bin/env bash
# Multi-process training: tools/dist_train.sh CONFIG NPROC [train.py flags]
# Works with CUDA (one process per GPU, NCCL) and on CPU-only builds (gloo).
set -euo pipefail
CONFIG=$1
NPROC=$2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-python}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes=1 --node_rank=0 --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
