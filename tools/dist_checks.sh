# Sourced by tools/dist_train.sh and tools/dist_test.sh: refuses launch
# settings that would make torchrun hang or fail deep inside, before it
# starts (dist_check), then starts it (dist_torchrun). dist_check sets NNODES,
# NODE_RANK, PORT and MASTER_ADDR to their defaults (one node on
# 127.0.0.1:29500).
dist_fail() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

dist_check() {  # dist_check CONFIG NPROC
  local config=$1 nproc=$2 name
  NNODES=${NNODES:-1}
  PORT=${PORT:-29500}
  [[ $NNODES =~ ^[0-9]+$ ]] ||
    dist_fail "NNODES=$NNODES is not a non-negative integer"
  if ((NNODES > 1)); then
    [[ -n ${NODE_RANK:-} ]] || dist_fail "NNODES=$NNODES needs NODE_RANK" \
      "(0 on the node at MASTER_ADDR, 1..$((NNODES - 1)) on the others)"
    [[ -n ${MASTER_ADDR:-} ]] || dist_fail "NNODES=$NNODES needs" \
      "MASTER_ADDR, the address of the node with NODE_RANK=0"
  fi
  NODE_RANK=${NODE_RANK:-0}
  MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
  for name in NODE_RANK PORT; do
    [[ ${!name} =~ ^[0-9]+$ ]] ||
      dist_fail "$name=${!name} is not a non-negative integer"
  done
  [[ $nproc =~ ^[1-9][0-9]*$ ]] ||
    dist_fail "NPROC_PER_NODE=$nproc must be a positive integer"
  ((NNODES >= 1)) || dist_fail "NNODES=$NNODES must be at least 1"
  ((NODE_RANK < NNODES)) ||
    dist_fail "NODE_RANK=$NODE_RANK must be below NNODES=$NNODES"
  [[ -f $config ]] || dist_fail "config file $config not found"
}

dist_torchrun() {  # dist_torchrun NPROC SCRIPT [ARGS...], after dist_check
  local nproc=$1
  shift
  PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
  "${PYTHON:-python}" -m torch.distributed.run \
      --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
      --nproc_per_node="$nproc" --master_port="$PORT" "$@"
}
