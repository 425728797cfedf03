"""The papers' loss figures, computed with this package's own loss kernels.

* RetinaNet Fig. 1: focal loss against p_t for several gamma.
* RetinaNet Figs. 5-6: CE, FL and FL* against x_t, and their derivatives.
* EFL Fig. 3: per-category EFL against x_t without and with the weighting
  factor, for categories of different gradient ratio.
* EFL Fig. 5: EFL's derivative against x_t for those categories.

Every curve is evaluated through :func:`modulated_focal_loss` or
:class:`FocalLossStar` on a single positive logit ``x = x_t`` (``y = 1``), so
the figures show what training uses. Each function writes a PNG and returns
the numbers behind it.
"""
from typing import Dict, List, Sequence

import numpy as np
import torch

from mmdet_efl.models.losses import FocalLossStar
from mmdet_efl.models.losses.modulated_focal import (
    FocalTerms, modulated_focal_loss)
from mmdet_efl.utils.figures import save_figure, subplots


def _positive_curve(x_t: np.ndarray, gamma: float,
                    weight: float = 1.0) -> Dict[str, List[float]]:
    """Loss and d loss / d x of a positive (y = 1) logit ``x = x_t``, no
    alpha: the kernel's ``W |1 - p|^gamma BCE``."""
    x = torch.as_tensor(x_t, dtype=torch.float64)[:, None]
    w = torch.tensor([weight], dtype=torch.float64)
    loss, grad, _ = modulated_focal_loss(
        x, FocalTerms(gamma=torch.tensor([gamma], dtype=torch.float64),
                      w_pos=w, w_neg=w),
        labels=torch.zeros(len(x_t), dtype=torch.long), reduce=False,
        stats=False)
    return dict(loss=loss[:, 0].tolist(), grad=grad[:, 0].tolist())


def _fl_star_curve(x_t: np.ndarray, gamma: float,
                   beta: float) -> Dict[str, List[float]]:
    x = torch.as_tensor(x_t, dtype=torch.float64)[:, None].requires_grad_()
    loss = FocalLossStar(gamma=gamma, beta=beta, alpha=None,
                         reduction='none')(
                             x, torch.zeros(len(x_t), dtype=torch.long))
    loss.sum().backward()
    return dict(loss=loss.detach()[:, 0].tolist(), grad=x.grad[:, 0].tolist())


def retinanet_fig1(out_file: str,
                   gammas: Sequence[float] = (0, 0.5, 1, 2, 5)) -> dict:
    """RetinaNet Fig. 1: FL(p_t) = -(1 - p_t)^gamma log p_t."""
    p_t = np.linspace(0.005, 1.0, 200)
    x_t = np.log(p_t) - np.log1p(-np.minimum(p_t, 1 - 1e-12))
    data = dict(p_t=p_t.tolist(), curves={})
    fig, ax = subplots(figsize=(5.5, 4))
    for g in gammas:
        loss = _positive_curve(x_t, g)['loss']
        data['curves'][str(g)] = loss
        ax.plot(p_t, loss, label=f'$\\gamma$ = {g:g}')
    ax.set(xlabel='probability of ground truth class $p_t$', ylabel='loss',
           ylim=(0, 5), title='RetinaNet Fig. 1')
    ax.legend()
    save_figure(fig, out_file)
    return data


def retinanet_figs5_6(out_file: str) -> dict:
    """RetinaNet Figs. 5 and 6: CE, FL (gamma 2) and FL* ((2, 1), (4, 0))
    against x_t, and their derivatives w.r.t. x."""
    x_t = np.linspace(-5, 5, 201)
    curves = {
        'CE': _positive_curve(x_t, 0.0),
        'FL, g=2': _positive_curve(x_t, 2.0),
        'FL*, g=2, b=1': _fl_star_curve(x_t, 2.0, 1.0),
        'FL*, g=4, b=0': _fl_star_curve(x_t, 4.0, 0.0),
    }
    fig, axes = subplots(1, 2, figsize=(10, 4))
    for name, c in curves.items():
        axes[0].plot(x_t, c['loss'], label=name)
        axes[1].plot(x_t, c['grad'], label=name)
    axes[0].set(xlabel='$x_t$', ylabel='loss', title='RetinaNet Fig. 5')
    axes[1].set(xlabel='$x_t$', ylabel='d loss / d x',
                title='RetinaNet Fig. 6')
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, out_file)
    return dict(x_t=x_t.tolist(), curves=curves)


def efl_categories(gamma_b: float = 2.0, s: float = 8.0,
                   ratios: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.0)
                   ) -> Dict[str, float]:
    """``gamma_j = gamma_b + s (1 - G_j)`` for a few gradient ratios."""
    return {f'G={g:g}': gamma_b + s * (1 - g) for g in ratios}


def efl_fig3(out_file: str, gamma_b: float = 2.0, s: float = 8.0) -> dict:
    """EFL Fig. 3: per-category loss without (a) and with (b) the
    weighting factor ``gamma_j / gamma_b`` (alpha ignored)."""
    x_t = np.linspace(-4, 4, 161)
    cats = efl_categories(gamma_b, s)
    data = dict(x_t=x_t.tolist(), gamma_j=cats, without={}, with_weight={})
    fig, axes = subplots(1, 2, figsize=(10, 4))
    for name, g in cats.items():
        a = _positive_curve(x_t, g)['loss']
        b = _positive_curve(x_t, g, weight=g / gamma_b)['loss']
        data['without'][name], data['with_weight'][name] = a, b
        label = f'{name}, $\\gamma_j$={g:g}'
        axes[0].plot(x_t, a, label=label)
        axes[1].plot(x_t, b, label=label)
    axes[0].set(title='(a) without the weighting factor')
    axes[1].set(title='(b) with the weighting factor')
    for ax in axes:
        ax.set(xlabel='$x_t$', ylabel='loss')
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, out_file, title='EFL Fig. 3')
    return data


def efl_fig5(out_file: str, gamma_b: float = 2.0, s: float = 8.0) -> dict:
    """EFL Fig. 5: the derivative of EFL (eq. 6) for several gamma_j."""
    x_t = np.linspace(-4, 4, 161)
    cats = efl_categories(gamma_b, s)
    data = dict(x_t=x_t.tolist(), gamma_j=cats, grad={})
    fig, ax = subplots(figsize=(5.5, 4))
    for name, g in cats.items():
        grad = _positive_curve(x_t, g, weight=g / gamma_b)['grad']
        data['grad'][name] = grad
        ax.plot(x_t, grad, label=f'{name}, $\\gamma_j$={g:g}')
    ax.set(xlabel='$x_t$', ylabel='d EFL / d x', title='EFL Fig. 5')
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, out_file)
    return data


FORMULA_FIGURES = {
    'retinanet_fig1': retinanet_fig1,
    'retinanet_figs5_6': retinanet_figs5_6,
    'efl_fig3': efl_fig3,
    'efl_fig5': efl_fig5,
}
