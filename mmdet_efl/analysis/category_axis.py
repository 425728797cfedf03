"""The per-category x-axis of the papers' figures: categories sorted from
most to least frequent, coloured by LVIS frequency group."""
from typing import Dict, Sequence

import numpy as np
from matplotlib.patches import Patch

from mmdet_efl.datasets import frequency_group

GROUP_COLOURS = {'r': 'tab:red', 'c': 'tab:orange', 'f': 'tab:blue'}
GROUP_NAMES = {'f': 'frequent', 'c': 'common', 'r': 'rare'}


def frequency_order(image_counts: Sequence[int]) -> np.ndarray:
    """Label indices from the most to the least frequent category (stable,
    so ties keep label order)."""
    return np.argsort(-np.asarray(image_counts), kind='stable')


def plot_per_category(ax, values: Sequence[float],
                      image_counts: Sequence[int], **kwargs) -> Dict:
    """Bars of ``values`` over categories sorted by frequency, coloured by
    group, with a legend of the groups present. Returns the plotted order
    and groups."""
    order = frequency_order(image_counts)
    groups = [frequency_group(int(image_counts[i])) for i in order]
    ax.bar(np.arange(len(order)), np.asarray(values, dtype=float)[order],
           width=1.0, color=[GROUP_COLOURS[g] for g in groups], **kwargs)
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_xlabel('category index, sorted by training images')
    ax.legend(handles=[Patch(color=GROUP_COLOURS[letter], label=name)
                       for letter, name in GROUP_NAMES.items()
                       if letter in groups])
    return dict(order=order.tolist(), group=groups)
