"""Per-category focusing factor and gradient ratio of a trained EFL model
against the category's number of training images (EFL eq. 3, Fig. 2)."""
import json
from typing import Dict, List, Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mmdet_efl.datasets import frequency_group  # noqa: E402

_GROUP_COLOURS = {'r': 'tab:red', 'c': 'tab:orange', 'f': 'tab:blue'}


def category_image_counts_from_file(ann_file: str) -> List[int]:
    """Training images per category, in the file's category order."""
    with open(ann_file) as f:
        data = json.load(f)
    images: Dict[int, set] = {c['id']: set() for c in data['categories']}
    for ann in data['annotations']:
        images[ann['category_id']].add(ann['image_id'])
    return [len(images[c['id']]) for c in data['categories']]


def plot_focusing_factors(gamma: np.ndarray, grad_ratio: np.ndarray,
                          image_counts: List[int], out_file: str,
                          title: Optional[str] = None) -> Dict[str, list]:
    """Scatter of ``gamma_j`` and ``G_j`` against training-image count,
    coloured by LVIS frequency group. Returns the plotted numbers."""
    counts = np.asarray(image_counts)
    groups = [frequency_group(int(n)) for n in counts]
    colours = [_GROUP_COLOURS[g] for g in groups]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, values, label in ((axes[0], gamma, r'focusing factor $\gamma_j$'),
                              (axes[1], grad_ratio,
                               r'gradient ratio $G_j$')):
        ax.scatter(counts, values, c=colours, s=22)
        ax.set_xscale('log')
        ax.set_xlabel('training images of the category')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for letter, name in (('r', 'rare'), ('c', 'common'), ('f', 'frequent')):
        axes[0].scatter([], [], c=_GROUP_COLOURS[letter], label=name)
    axes[0].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    plt.close(fig)
    return dict(image_count=counts.tolist(), group=groups,
                gamma=np.asarray(gamma).tolist(),
                grad_ratio=np.asarray(grad_ratio).tolist())
