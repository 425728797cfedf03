"""The verdict of a diagnosis, its reason and what would move the run back
into EFL's regime, as text (the mechanism is measured on the simulator,
projects/LongTailBenchmark/docs/when_efl_degenerates.md)."""
from typing import List, Optional

from ..regime import MAX_RARE_OVER_FREQ_GRAD_RATIO, rare_over_frequent
from .report import SATURATION_TOL, Diagnosis

#: a run that saturated within this fraction of its iterations did so in
#: its start-up phase (the prior-initialisation surplus of positives).
EARLY_FRACTION = 0.1
#: An EFL run whose rare categories are focused at least this much more
#: than its frequent ones (mean gamma_j) is acting, whatever G_rare / G_freq:
#: EFL raises the rare categories' G_j as it acts (their positives gain
#: weight), so its own ratios stay above the regime check's 0.5 that its
#: focal-loss twin meets. A spread of 1 at gamma_b = 2 weights rare
#: categories 1.5 times as much as frequent ones (EFL eq. 4).
MIN_GAMMA_SPREAD = 1.0

#: why G_j stays below 1, ending every reason
MECHANISM = (
    'Exactly, 1 - G_j = (lambda_b sum_t |b_j| + sum_t (dL/db_j + '
    'lambda_b b_j)) / sum_t neg_j: the second (drive) term is what moved '
    'the bias and is negative while it rises, as it does at the start. '
    'After the start-up only weight decay on the classifier (the first '
    'term) keeps G_j below 1.')


def advice(exposure: Optional[float]) -> List[str]:
    """What would move a run whose classifier had weight-decay exposure
    ``exposure`` (``Lambda_b = sum_t lr_t lambda_b``, None if unknown)
    back into EFL's regime."""
    return [
        'more weight-decay exposure of the classification bias, '
        'Lambda_b = sum_t lr_t * lambda_b'
        + (f' (this run: {exposure:.3g})' if exposure is not None else '')
        + ', with the same recipe for every loss, e.g. '
        "optim_wrapper.paramwise_cfg.custom_keys={'bbox_head.<cls layer>"
        ".bias': dict(decay_mult=...)}. On the simulator the regime switched "
        'on between Lambda 0.012 and 0.04 (stock decay on a short run: '
        '0.004; LVIS 2x: ~0.25), decay of the bias alone gave it without '
        'costing focal loss any AP, decay of the weights alone did nothing '
        'to G_j, and too much (Lambda ~1) collapses rare classifiers',
        'a longer schedule at the same decay (the sums never forget the '
        'start-up surplus of positive gradient at prior initialisation)',
        'data closer to LVIS: rare categories that must be learned from '
        'their own few images, many categories and anchors per image '
        '(a rare category\'s small gradient mass against the decay term is '
        'what keeps its G_j low)',
    ]


def judge(diag: Diagnosis) -> None:
    """Sets ``diag``'s verdict, reason and advice from its groups.

    Every group at ``G_j = 1``: EFL has reduced to focal loss (in the
    start-up if it saturated within :data:`EARLY_FRACTION` of the run).
    Otherwise EFL is acting if the rare categories' mean ``gamma_j`` exceeds
    the frequent ones' by :data:`MIN_GAMMA_SPREAD`, or if ``G_rare /
    G_freq`` passes the regime check; else it acts weakly.
    """
    states = diag.groups
    final = {g: s.mean_grad_ratio for g, s in states.items()
             if s.mean_grad_ratio is not None}
    saturated = {g: s for g, s in states.items()
                 if s.mean_grad_ratio is not None
                 and s.mean_grad_ratio >= 1 - SATURATION_TOL}
    N = diag.iterations
    if final and len(saturated) == len(final):
        since = max((s.saturated_since for s in saturated.values()
                     if s.saturated_since is not None), default=None)
        early = since is not None and N and since <= EARLY_FRACTION * N
        diag.verdict = ('EFL has reduced to focal loss' +
                        (f' since iteration {since}' if since is not None
                         else '') + ': every group is at G_j = 1, so '
                        'gamma_j = gamma_b and the weight is 1.')
        diag.reason = (
            'each category\'s accumulated positive gradient has caught up '
            'with its negative gradient. '
            + ('It happened in the start-up phase: at prior initialisation '
               '(p ~ 0.001) one positive\'s gradient outweighs one '
               'negative\'s by ~1e8, and the sums never decay. '
               if early else '')
            + MECHANISM + ' Here it is too small.')
        diag.advice = advice(diag.classifier_exposure)
        return
    ratio = None
    if 'rare' in final and 'frequent' in final:
        ratio = rare_over_frequent(final)
    gammas = [states[g].mean_gamma if g in states else None
              for g in ('rare', 'frequent')]
    spread = None if None in gammas else gammas[0] - gammas[1]
    if spread is not None and spread >= MIN_GAMMA_SPREAD:
        diag.verdict = (
            f'EFL is acting: rare categories are focused with mean gamma_j '
            f'= {gammas[0]:.2f} against {gammas[1]:.2f} for frequent ones '
            f'(spread {spread:.2f} >= {MIN_GAMMA_SPREAD}; G_rare / G_freq = '
            f'{ratio:.2f}).')
        diag.reason = (
            'the rare categories\' negatives keep outweighing their '
            'positives: the weight decay on the classifier is large against '
            'their small gradient mass. EFL itself raises G_rare as it '
            'weights their positives up, so judge it by gamma_j; the '
            f'regime check (G_rare / G_freq <= '
            f'{MAX_RARE_OVER_FREQ_GRAD_RATIO}) applies to its focal-loss '
            'twin (EFL with scale_factor=0). ' + MECHANISM)
        return
    if ratio is not None and ratio <= MAX_RARE_OVER_FREQ_GRAD_RATIO:
        gamma = states['rare'].mean_gamma
        diag.verdict = ('EFL is acting: G_rare / G_freq = '
                        f'{ratio:.2f} <= {MAX_RARE_OVER_FREQ_GRAD_RATIO}'
                        + (f', rare categories are focused with mean '
                           f'gamma_j = {gamma:.2f}' if gamma is not None
                           else '') + '.')
        diag.reason = ('the rare categories\' negatives keep outweighing '
                       'their positives, as on LVIS: the weight decay on '
                       'the classifier is large against their small '
                       'gradient mass. ' + MECHANISM)
        return
    low = min(final, key=final.get) if final else None
    diag.verdict = ('EFL acts weakly: some categories are below G_j = 1 '
                    f'(lowest group mean: {low} {final[low]:.3f})'
                    if low is not None else 'EFL state unknown')
    unseen = sum(s.num_unseen or 0 for s in states.values())
    diag.reason = (
        ('rare categories are not clearly below frequent ones '
         f'(G_rare / G_freq = {ratio:.2f} > '
         f'{MAX_RARE_OVER_FREQ_GRAD_RATIO}). ' if ratio is not None else '')
        + (f'{unseen} categories have no positive yet (G_j = 0 by '
           'definition). ' if unseen else '')
        + MECHANISM + ' Here it is small, or the run is still in its '
        'start-up (check that G_j still falls).')
    diag.advice = advice(diag.classifier_exposure)
