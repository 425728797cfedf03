"""The simulated long-tailed "dataset": categories in look-alike families,
fixed objects per training image, and the anchors a dense detector's
classifier would see.

No image is rendered. An anchor is a feature vector ``x`` in
``R^input_dim``:

* category ``c`` of family ``f`` has the prototype ``mu_c = nu_f + u_c``
  (``|nu_f| = family_scale``, ``|u_c| = member_offset``): siblings differ
  only by their own offsets;
* an object of ``c`` has a fixed code ``z = mu_c + instance_noise * xi``.
  A rare category is known only through its few codes, and must be told
  apart from its frequent siblings by its own offset, which those few codes
  estimate poorly;
* a positive anchor of the object is ``z + anchor_noise * xi'`` (fresh
  noise each step, like augmentation);
* a near-object negative is ``beta z + (1 - beta) bg + anchor_noise * xi'``
  (a badly overlapping anchor: partly the object, partly background);
* a background anchor is a mode of a background mixture plus noise. Most
  anchors of an image are background; they are represented by a sample
  weighted by the number of anchors it stands for.
"""
import math
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor

from mmdet_efl.datasets.longtail import (COMMON_MAX_IMAGES, RARE_MAX_IMAGES,
                                         frequency_group, group_labels)
from .config import SimulatorConfig


def group_split(cfg: SimulatorConfig) -> Tuple[int, int, int]:
    """Categories per group (rare, common, frequent) in the proportions of
    ``cfg.group_sizes``, each group non-empty."""
    r, c, f = cfg.group_sizes
    total = r + c + f
    n_r = max(1, round(cfg.num_classes * r / total))
    n_f = max(1, round(cfg.num_classes * f / total))
    n_c = cfg.num_classes - n_r - n_f
    if n_c < 1:
        raise ValueError(f'num_classes={cfg.num_classes} leaves no common '
                         'category')
    return n_r, n_c, n_f


def _log_spread(n: int, lo: int, hi: int) -> np.ndarray:
    """``n`` integers spread log-uniformly from ``hi`` down to ``lo``
    (both ends included when ``n > 1``)."""
    if n == 1:
        return np.array([round(math.sqrt(lo * hi))], dtype=np.int64)
    values = np.exp(np.linspace(math.log(hi), math.log(lo), n))
    return np.clip(np.round(values), lo, hi).astype(np.int64)


def simulated_image_counts(cfg: SimulatorConfig) -> np.ndarray:
    """Training images per category, most frequent first: LVIS's group
    ranges (rare 1-10, common 11-100, frequent 101-``max_images``) in the
    proportions of ``cfg.group_sizes``."""
    n_r, n_c, n_f = group_split(cfg)
    return np.concatenate([
        _log_spread(n_f, COMMON_MAX_IMAGES + 1, cfg.max_images),
        _log_spread(n_c, RARE_MAX_IMAGES + 1, COMMON_MAX_IMAGES),
        _log_spread(n_r, 1, RARE_MAX_IMAGES)
    ])


def _unit_rows(gen: torch.Generator, n: int, dim: int) -> Tensor:
    v = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True)


class LongTailWorld:
    """Categories, objects and anchor sampler of one simulator run.

    Everything is drawn from ``seed``; the training objects, the evaluation
    set and the per-step anchor noise use separate streams, so the same
    seed gives the same dataset whatever the loss.

    Attributes:
        image_counts: training images per label ``[C]``.
        groups: ``{'rare': [labels], 'common': ..., 'frequent': ...}``.
        family: family index per label ``[C]``.
        background_weight: anchors one background sample stands for.
    """

    def __init__(self, cfg: SimulatorConfig, seed: int) -> None:
        self.cfg = cfg
        self.num_classes = C = cfg.num_classes
        gen = torch.Generator().manual_seed(int(seed) * 7919 + 1)
        rng = np.random.default_rng([int(seed), 1])

        counts = simulated_image_counts(cfg)
        order = rng.permutation(C)  # label of the i-th most frequent
        self.image_counts = np.empty(C, dtype=np.int64)
        self.image_counts[order] = counts
        self.frequency = [frequency_group(int(n)) for n in self.image_counts]
        self.groups: Dict[str, List[int]] = group_labels(self.frequency)
        self.family = self._families(rng)

        dim = cfg.input_dim
        num_fam = int(self.family.max()) + 1
        family_proto = _unit_rows(gen, num_fam, dim) * cfg.family_scale
        offsets = _unit_rows(gen, C, dim) * cfg.member_offset
        self.prototypes = (family_proto[torch.as_tensor(self.family)] +
                           offsets).float()
        self.background_modes = (_unit_rows(gen, cfg.background_prototypes,
                                            dim) * cfg.background_scale
                                 ).float()

        # training objects: category c in image_counts[c] distinct images
        labels, images = [], []
        for c in range(C):
            imgs = rng.choice(cfg.num_train_images, int(self.image_counts[c]),
                              replace=False)
            images.append(imgs)
            labels.append(np.full(len(imgs), c))
        self.train = self._objects(np.concatenate(images),
                                   np.concatenate(labels),
                                   cfg.num_train_images, gen)
        per_image = np.diff(self.train['ptr'])
        k, m = cfg.positives_per_object, cfg.near_negatives_per_object
        rest = cfg.anchors_per_image - (k + m) * per_image.mean()
        if rest < cfg.background_samples:
            raise ValueError(
                f'anchors_per_image={cfg.anchors_per_image} leaves {rest:.0f}'
                f' background anchors per image, fewer than '
                f'background_samples={cfg.background_samples}')
        self.background_weight = float(rest / cfg.background_samples)

        self.eval = self._eval_set(rng, gen)

    # ------------------------------------------------------------------
    def _families(self, rng: np.random.Generator) -> np.ndarray:
        """Family per label: every family is headed by a frequent category
        where there are enough, so rare members have frequent
        look-alikes."""
        C, size = self.num_classes, self.cfg.family_size
        num_fam = math.ceil(C / size)
        heads = [int(c) for c in
                 rng.permutation(self.groups['frequent'])[:num_fam]]
        rest = [int(c) for c in rng.permutation(C) if c not in set(heads)]
        family = np.empty(C, dtype=np.int64)
        family[heads + rest] = _fill_order(num_fam, size, C, len(heads))
        return family

    def _objects(self, images: np.ndarray, labels: np.ndarray,
                 num_images: int, gen: torch.Generator) -> Dict:
        order = np.lexsort((labels, images))
        images, labels = images[order], labels[order]
        noise = torch.randn(len(labels), self.cfg.input_dim, generator=gen)
        codes = self.prototypes[torch.as_tensor(labels)] + \
            self.cfg.instance_noise * noise
        ptr = np.searchsorted(images, np.arange(num_images + 1))
        return dict(image=images, label=labels, code=codes, ptr=ptr,
                    num_images=num_images)

    def _eval_set(self, rng: np.random.Generator,
                  gen: torch.Generator) -> Dict:
        cfg = self.cfg
        n_eval = cfg.num_eval_images
        counts = np.maximum(cfg.min_eval_images,
                            np.round(cfg.eval_fraction * self.image_counts))
        counts = np.minimum(counts, n_eval).astype(np.int64)
        images = np.concatenate([rng.choice(n_eval, int(n), replace=False)
                                 for n in counts])
        labels = np.repeat(np.arange(self.num_classes), counts)
        objects = self._objects(images, labels, n_eval, gen)
        z = objects['code']
        ka, me = cfg.eval_anchors_per_object, cfg.eval_near_boxes_per_object
        objects['anchors'] = self._positive_anchors(z, ka, gen)
        objects['near'] = self._near_anchors(z, me, gen)
        objects['background'] = self._background(
            n_eval * cfg.eval_background_boxes, gen)
        return objects

    # ------------------------------------------------------------------
    def _positive_anchors(self, codes: Tensor, k: int,
                          gen: torch.Generator) -> Tensor:
        x = codes.repeat_interleave(k, dim=0)
        return x + self.cfg.anchor_noise * torch.randn(x.shape, generator=gen)

    def _background(self, n: int, gen: torch.Generator) -> Tensor:
        mode = torch.randint(len(self.background_modes), (n, ), generator=gen)
        return self.background_modes[mode] + self.cfg.background_noise * \
            torch.randn(n, self.cfg.input_dim, generator=gen)

    def _near_anchors(self, codes: Tensor, m: int,
                      gen: torch.Generator) -> Tensor:
        z = codes.repeat_interleave(m, dim=0)
        beta = torch.rand(len(z), 1, generator=gen) * self.cfg.near_overlap
        return beta * z + (1 - beta) * self._background(len(z), gen) + \
            self.cfg.anchor_noise * torch.randn(z.shape, generator=gen)

    def train_batch(self, image_ids: np.ndarray, gen: torch.Generator
                    ) -> Tuple[Tensor, Tensor, Tensor, int]:
        """Anchors of a batch of training images.

        Returns:
            ``(x [N, input_dim], labels [N] (background = C), weight [N],
            num_positives)``; ``weight`` is 1 except for the background
            samples, which carry :attr:`background_weight`.
        """
        cfg, tr = self.cfg, self.train
        ptr = tr['ptr']
        obj = np.concatenate([np.arange(ptr[i], ptr[i + 1])
                              for i in image_ids]).astype(np.int64)
        obj_t = torch.as_tensor(obj)
        z = tr['code'][obj_t]
        k, m = cfg.positives_per_object, cfg.near_negatives_per_object
        pos = self._positive_anchors(z, k, gen)
        near = self._near_anchors(z, m, gen)
        bg = self._background(len(image_ids) * cfg.background_samples, gen)
        labels = torch.cat([
            torch.as_tensor(tr['label'][obj]).repeat_interleave(k),
            torch.full((len(near) + len(bg), ), self.num_classes)
        ])
        weight = torch.ones(len(labels))
        weight[len(pos) + len(near):] = self.background_weight
        return torch.cat([pos, near, bg]), labels, weight, len(pos)

    def sample_counts(self) -> Tuple[np.ndarray, np.ndarray]:
        """EFL Fig. 2's counts over the training set: positive anchors per
        category and all other anchors (its negatives), ``[C]`` each."""
        cfg = self.cfg
        objects = np.bincount(self.train['label'], minlength=self.num_classes)
        pos = objects * cfg.positives_per_object
        total = cfg.num_train_images * cfg.anchors_per_image
        return pos.astype(float), (total - pos).astype(float)

    def repeat_factors(self, rfs_images: float) -> np.ndarray:
        """Repeat factor per training image (LVIS's RFS, Gupta et al.,
        2019): the largest ``max(1, sqrt(t / f_c))`` of its categories,
        with ``f_c`` the share of training images holding ``c`` and
        ``t = rfs_images / num_train_images``."""
        cat_r = np.maximum(1.0, np.sqrt(rfs_images / self.image_counts))
        tr = self.train
        out = np.ones(tr['num_images'])
        np.maximum.at(out, tr['image'], cat_r[tr['label']])
        return out


def _fill_order(num_fam: int, size: int, num_classes: int,
                num_heads: int) -> List[int]:
    """Family of each member in the order heads, then the rest: heads take
    families 0..num_heads-1, the rest fill the remaining slots in turn."""
    free = [size - 1 if f < num_heads else size for f in range(num_fam)]
    order = list(range(num_heads))
    f = 0
    while len(order) < num_classes:
        if free[f % num_fam] > 0:
            free[f % num_fam] -= 1
            order.append(f % num_fam)
        f += 1
    return order
