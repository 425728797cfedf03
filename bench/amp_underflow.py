"""How much of the classification gradient survives fp16 AMP loss scaling.

    python bench/amp_underflow.py [--n 20000] [--c 50] [--scale 1024]

The setting of issue 13: fp16 logits drawn from N(-4.6, 1), ``[N, C]``,
``avg_factor`` 300 (300 positive anchors with random categories, the other
rows background), half of the categories with gradient ratio
``G_j = 0.05`` (``pos_grad = 0.05``, ``neg_grad = 1``; the other half keep
their initial state). The loss is multiplied by a ``[1]``-shaped fp32 loss
scale, as ``GradScaler.scale`` does, and back-propagated.

The reference is the same loss on the same logits upcast to fp32, scaled by
the same factor: its gradient is what fp16 should hold. An entry counts as
*representable* if that reference has ``|g| >= 2**-24`` (5.96e-8, the
smallest positive fp16 subnormal: rounding such a value to fp16 never gives
0). Over those entries the table gives how many the fp16 run returns as
exactly 0 and the median of ``|g16 - g32| / |g32|``.

Rows: ``EqualizedFocalLoss``, ``EqualizedQualityFocalLoss`` (quality
scores of positives uniform in [0.3, 0.9]), ``EQLv2FocalLoss`` and mmdet's
``FocalLoss`` (the baseline, autograd through fp16 ops). Writes the table
as JSON to ``bench/results/amp_underflow.json`` (``--out``). Run it with
``PYTHONPATH`` pointing at another checkout to measure that code, and
with ``MMDET_EFL_FUSED=1`` to measure the compiled kernel (at this size the
eager one runs by default on CPU).
"""
import argparse
import json
import os
from typing import Callable, Dict

import torch

# The smallest positive fp16 subnormal, 2^-24.
FP16_SMALLEST_SUBNORMAL = 2.0**-24


def make_inputs(n: int, c: int, num_pos: int = 300, seed: int = 0):
    """fp16 logits ~ N(-4.6, 1), labels (``num_pos`` positives), quality
    scores of the positives."""
    g = torch.Generator().manual_seed(seed)
    pred = (torch.randn(n, c, generator=g) - 4.6).half()
    labels = torch.full((n, ), c, dtype=torch.long)
    rows = torch.randperm(n, generator=g)[:num_pos]
    labels[rows] = torch.randint(0, c, (num_pos, ), generator=g)
    scores = torch.zeros(n)
    scores[rows] = 0.3 + 0.6 * torch.rand(num_pos, generator=g)
    return pred, labels, scores


def plant_ratio(loss, ratio: float = 0.05) -> None:
    """``G_j = ratio`` for the first half of the categories."""
    half = loss.num_classes // 2
    loss.pos_grad[:half] = ratio
    loss.neg_grad[:half] = 1.0


def underflow(make_loss: Callable[[], Callable], pred16: torch.Tensor,
              scale: float) -> Dict[str, float]:
    """Runs the loss on fp16 logits and on their fp32 copy, both times
    multiplied by a ``[1]`` fp32 loss scale; compares the gradients."""
    grads = []
    for x in (pred16.float(), pred16):
        x = x.clone().requires_grad_()
        loss = make_loss()(x)
        (loss * torch.tensor([scale])).backward()
        grads.append(x.grad)
    ref, got = grads[0].double(), grads[1].double()
    representable = ref.abs() >= FP16_SMALLEST_SUBNORMAL
    rel = ((got - ref).abs() / ref.abs())[representable]
    return dict(
        representable=int(representable.sum()),
        zero=int((got[representable] == 0).sum()),
        median_rel_error=float(rel.median()) if rel.numel() else 0.0,
        grad_dtype=str(grads[1].dtype))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=20000)
    parser.add_argument('--c', type=int, default=50)
    parser.add_argument('--avg-factor', type=float, default=300.0)
    parser.add_argument('--scale', type=float, default=1024.0)
    parser.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'results',
        'amp_underflow.json'))
    args = parser.parse_args()

    import mmdet_efl
    from mmdet.models.losses import FocalLoss
    from mmdet_efl.models.losses import (EQLv2FocalLoss, EqualizedFocalLoss,
                                         EqualizedQualityFocalLoss)

    pred, labels, scores = make_inputs(args.n, args.c,
                                       num_pos=int(args.avg_factor))
    avg = args.avg_factor

    def adaptive(loss_type, target):
        def make():
            loss = loss_type(args.c)
            plant_ratio(loss)
            return lambda x: loss(x, target, avg_factor=avg)
        return make

    def mmdet_focal():
        loss = FocalLoss(use_sigmoid=True)
        return lambda x: loss(x, labels, avg_factor=avg)

    rows = {
        'EqualizedFocalLoss': adaptive(EqualizedFocalLoss, labels),
        'EqualizedQualityFocalLoss': adaptive(EqualizedQualityFocalLoss,
                                              (labels, scores)),
        'EQLv2FocalLoss': adaptive(EQLv2FocalLoss, labels),
        'mmdet FocalLoss': mmdet_focal,
    }
    table = {name: underflow(make, pred, args.scale)
             for name, make in rows.items()}
    print(f'mmdet_efl from {os.path.dirname(mmdet_efl.__file__)}')
    print(f'fp16 logits N(-4.6, 1) [{args.n}, {args.c}], avg_factor {avg}, '
          f'loss scale {args.scale}; representable: |g32| >= 2^-24')
    print(f'{"loss":28s} {"representable":>13s} {"exactly 0":>10s} '
          f'{"median rel. err":>16s}')
    for name, row in table.items():
        print(f'{name:28s} {row["representable"]:13d} {row["zero"]:10d} '
              f'{row["median_rel_error"]:16.3g}')
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(args=vars(args), table=table), f, indent=1)


if __name__ == '__main__':
    main()
