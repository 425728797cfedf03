"""The per-category x-axis of the papers' figures: categories sorted from
most to least frequent, coloured by LVIS frequency group."""
from typing import Dict, List, Sequence

import numpy as np

from mmdet_efl.datasets.longtail import GROUP_NAMES, frequency_group

#: The colour of each frequency group in every figure.
GROUP_COLOURS = {'rare': 'tab:red', 'common': 'tab:orange',
                 'frequent': 'tab:blue'}


def group_legend(ax, letters: Sequence[str], **kwargs) -> None:
    """A legend of the frequency groups among ``letters`` (LVIS
    ``frequency`` letters), most frequent first as the category axis
    runs."""
    from matplotlib.patches import Patch
    present = [name for letter, name in GROUP_NAMES.items()
               if letter in letters]
    ax.legend(handles=[Patch(color=GROUP_COLOURS[name], label=name)
                       for name in reversed(present)], **kwargs)


def group_colours(letters: Sequence[str]) -> List[str]:
    """The colour of each of ``letters`` (LVIS ``frequency`` letters)."""
    return [GROUP_COLOURS[GROUP_NAMES[letter]] for letter in letters]


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
           width=1.0, color=group_colours(groups), **kwargs)
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_xlabel('category index, sorted by training images')
    group_legend(ax, groups)
    return dict(order=order.tolist(), group=groups)
