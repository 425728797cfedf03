"""A detector's dense samples over a dataset: every anchor's label under the
head's own assigner and, given a checkpoint, its classification logits.

This is the one data path behind the dataset and checkpoint figures (EFL
Figs. 2 and 4, RetinaNet Fig. 4): build the config's model and dataset with
mmdet itself, run ``data_preprocessor``, generate the head's anchors and
call the head's ``get_targets`` (so ATSS, RetinaNet and our heads assign
exactly as in training), optionally run backbone, neck and head, and hand
each image's flattened ``[A, C]`` logits and ``[A]`` labels to consumers.
"""
import copy
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from torch import Tensor
from tqdm import tqdm

from mmdet.models.dense_heads import AnchorHead, ATSSHead, PAAHead
from mmdet.registry import DATASETS, MODELS
from mmdet_efl.datasets.longtail import label_counts, unwrap_dataset_cfg
from mmdet_efl.engine.checkpoint import safe_checkpoint_loading

_SPLITS = ('train', 'val', 'test')


@dataclass
class DenseSamples:
    """One image's dense samples, in the head's flattening order.

    ``labels`` are class indices with background ``== num_classes``;
    ``valid`` marks the anchors that take part in the loss (label weight
    > 0); ``logits`` is ``[A, C]`` or ``None`` without a checkpoint.
    """
    labels: Tensor
    valid: Tensor
    logits: Optional[Tensor] = None


def analysis_dataset_cfg(cfg: Config,
                         split: str = 'train',
                         ann_file: Optional[str] = None,
                         data_root: Optional[str] = None,
                         img_prefix: Optional[str] = None) -> ConfigDict:
    """The dataset of ``split`` with the config's deterministic test
    pipeline, so every image is seen once, unflipped and at test scale.

    ``ann_file``, ``data_root`` and ``img_prefix`` point it at other files
    (e.g. the real LVIS or COCO annotations).
    """
    if split not in _SPLITS:
        raise ValueError(f'split must be one of {_SPLITS}, got {split!r}')
    loader = cfg.get(f'{split}_dataloader')
    if loader is None:
        raise ValueError(f'the config has no {split}_dataloader')
    # the figures describe the data, not a sampler's repetition of it
    data_cfg = copy.deepcopy(unwrap_dataset_cfg(loader.dataset))
    pipeline = copy.deepcopy(
        unwrap_dataset_cfg(cfg.test_dataloader.dataset).pipeline)
    if not any(t.get('type') == 'LoadAnnotations' for t in pipeline):
        raise ValueError('the test pipeline has no LoadAnnotations step; the '
                         'figures need ground truth to assign samples')
    data_cfg.pipeline = pipeline
    data_cfg.test_mode = False  # keep images whatever the split
    data_cfg.pop('filter_cfg', None)
    if ann_file is not None:
        data_cfg.ann_file = ann_file
    if data_root is not None:
        data_cfg.data_root = data_root
    if img_prefix is not None:
        data_cfg.data_prefix = dict(img=img_prefix)
    return data_cfg


def build_analysis_dataset(cfg: Config,
                           split: str = 'train',
                           ann_file: Optional[str] = None,
                           data_root: Optional[str] = None,
                           img_prefix: Optional[str] = None):
    """Builds :func:`analysis_dataset_cfg` with mmdet (parsing its
    annotation file)."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return DATASETS.build(
        analysis_dataset_cfg(cfg, split, ann_file, data_root, img_prefix))


def build_detector(cfg: Config, checkpoint: Optional[str] = None
                   ) -> torch.nn.Module:
    """The config's detector in eval mode, on CPU, with ``checkpoint``'s
    weights (pretrained backbone weights are not fetched). The checkpoint
    is read with the safe loaders (:mod:`mmdet_efl.engine.checkpoint`),
    installed for this read only."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    head = getattr(model, 'bbox_head', None)
    if not isinstance(head, AnchorHead) or isinstance(head, PAAHead):
        raise TypeError(
            f'{type(head).__name__} is not supported: the figures need an '
            'anchor-based dense head whose get_targets follows AnchorHead '
            '(RetinaNet, ATSS, ATSSIoUHead)')
    if checkpoint is not None:
        with safe_checkpoint_loading():
            load_checkpoint(model, checkpoint, map_location='cpu',
                            strict=True, logger='silent')
    return model.eval()


def _batches(dataset, indices: Sequence[int],
             batch_size: int) -> Iterator[dict]:
    for start in range(0, len(indices), batch_size):
        yield pseudo_collate(
            [dataset[i] for i in indices[start:start + batch_size]])


def _flatten(per_level: List[Tensor], num_imgs: int, width: int) -> Tensor:
    """Head outputs ``[B, A*W, H, W']`` per level to ``[B, N, W]``, in the
    anchor order of ``get_anchors`` and of mmdet's losses."""
    return torch.cat([t.permute(0, 2, 3, 1).reshape(num_imgs, -1, width)
                      for t in per_level], 1)


@torch.no_grad()
def iter_dense_samples(cfg: Config,
                       checkpoint: Optional[str] = None,
                       split: str = 'train',
                       ann_file: Optional[str] = None,
                       data_root: Optional[str] = None,
                       img_prefix: Optional[str] = None,
                       max_images: Optional[int] = None,
                       batch_size: int = 2,
                       seed: int = 0,
                       progress: bool = True,
                       dataset=None) -> Iterator[DenseSamples]:
    """Yields :class:`DenseSamples` for each image of ``split`` (a seeded
    random subset of ``max_images`` if given), with logits when a
    ``checkpoint`` is given. An already built ``dataset``
    (:func:`build_analysis_dataset`) replaces ``split``, ``ann_file``,
    ``data_root`` and ``img_prefix``, so that callers parse it once."""
    model = build_detector(cfg, checkpoint)
    head = model.bbox_head
    if dataset is None:
        dataset = build_analysis_dataset(cfg, split, ann_file, data_root,
                                         img_prefix)
    indices = np.arange(len(dataset))
    if max_images is not None and max_images < len(indices):
        indices = np.sort(np.random.default_rng(seed).choice(
            indices, max_images, replace=False))
    strides = [s[0] if isinstance(s, (tuple, list)) else s
               for s in head.prior_generator.strides]
    bar = tqdm(total=len(indices), desc='images', unit='img',
               disable=not progress)
    for data in _batches(dataset, indices.tolist(), batch_size):
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        num_imgs = len(samples)
        logits = None
        if checkpoint is not None:
            cls_scores = head(model.extract_feat(inputs))[0]
            featmap_sizes = [tuple(s.shape[-2:]) for s in cls_scores]
            logits = _flatten(cls_scores, num_imgs, head.cls_out_channels)
        else:
            h, w = inputs.shape[-2:]
            featmap_sizes = [(math.ceil(h / s), math.ceil(w / s))
                             for s in strides]
        metas = [s.metainfo for s in samples]
        anchors, valid_flags = head.get_anchors(featmap_sizes, metas,
                                                device=inputs.device)
        targets = head.get_targets(anchors, valid_flags,
                                   [s.gt_instances for s in samples], metas)
        # ATSSHead returns the anchors first; AnchorHead starts with labels
        offset = 1 if isinstance(head, ATSSHead) else 0
        labels = torch.cat(targets[offset], 1)
        weights = torch.cat(targets[offset + 1], 1)
        for i in range(num_imgs):
            yield DenseSamples(
                labels=labels[i], valid=weights[i] > 0,
                logits=None if logits is None else logits[i].float())
        bar.update(num_imgs)
    bar.close()


def consume(samples: Iterable[DenseSamples],
            consumers: Sequence[Callable[[DenseSamples], None]]) -> int:
    """Feeds every image to every consumer (one pass over the data for
    several figures); returns the number of images."""
    n = 0
    for sample in samples:
        for fn in consumers:
            fn(sample)
        n += 1
    if n == 0:
        raise ValueError('the dataset has no images to analyse')
    return n


def train_image_counts(cfg: Config,
                       ann_file: Optional[str] = None,
                       data_root: Optional[str] = None) -> np.ndarray:
    """Training images per label, in the detector's label order (the
    frequency by which LVIS groups categories and the papers sort them)."""
    return label_counts(
        build_analysis_dataset(cfg, 'train', ann_file, data_root), 'image')
