"""OpenImages mAP with the per-frequency-group APs of EFL Table 7.

EFL sec. 4.5 (following its refs. [38, 39]) splits the 500 Challenge 2019
categories into five groups of 100 by their number of training instances and
reports the mAP@0.5 of each, AP1 (rarest) to AP5 (most frequent), next to
the overall mAP. mmdet's ``OpenImagesMetric`` gives only the overall number.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from mmdet.evaluation import OpenImagesMetric
from mmdet.evaluation.functional import eval_map
from mmdet.registry import DATASETS, METRICS
from mmdet_efl.datasets import label_counts


def instance_groups(counts: Sequence[int],
                    num_groups: int) -> List[np.ndarray]:
    """Labels sorted from fewest to most training instances, split into
    ``num_groups`` groups of (nearly) equal size; group 0 is the rarest."""
    order = np.argsort(np.asarray(counts), kind='stable')
    return np.array_split(order, num_groups)


@METRICS.register_module()
class OpenImagesGroupMetric(OpenImagesMetric):
    """``OpenImagesMetric`` (same ``AP50``/``mAP``) plus ``AP1`` ...
    ``AP{num_groups}``: the mean AP of each frequency group at the first IoU
    threshold, over the group's categories present in the evaluation set.
    It also reads the group-of flag of mmdet's
    ``OpenImagesChallengeDataset``, which the stock metric does not.

    Args:
        num_groups: number of equal-size groups (5 in EFL Table 7).
        instance_counts: training instances per label, or
        count_dataset: the training dataset config, whose annotations give
            those counts at the first evaluation.
        Other arguments are ``OpenImagesMetric``'s.
    """

    def __init__(self,
                 num_groups: int = 5,
                 instance_counts: Optional[Sequence[int]] = None,
                 count_dataset: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if (instance_counts is None) == (count_dataset is None):
            raise ValueError('OpenImagesGroupMetric needs exactly one of '
                             'instance_counts and count_dataset')
        if kwargs.get('scale_ranges') is not None:
            raise ValueError('OpenImagesGroupMetric does not support '
                             'scale_ranges')
        if num_groups < 1:
            raise ValueError(f'num_groups must be >= 1, got {num_groups}')
        self.num_groups = num_groups
        self.count_dataset = count_dataset
        self._counts = (None if instance_counts is None else
                        np.asarray(instance_counts, dtype=np.int64))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        # mmdet 3.3's OpenImagesChallengeDataset names the flag
        # 'is_group_ofs' while OpenImagesMetric reads 'is_group_of' (a
        # KeyError on every challenge image); accept both
        for sample in data_samples:
            for inst in sample.get('instances', ()):
                if 'is_group_of' not in inst and 'is_group_ofs' in inst:
                    inst['is_group_of'] = inst['is_group_ofs']
        super().process(data_batch, data_samples)

    def _instance_counts(self) -> np.ndarray:
        if self._counts is None:
            cfg = dict(self.count_dataset, pipeline=[], lazy_init=False)
            self._counts = label_counts(DATASETS.build(cfg), 'instance')
        num_classes = len(self.dataset_meta['classes'])
        if len(self._counts) != num_classes:
            raise ValueError(f'{len(self._counts)} instance counts for '
                             f'{num_classes} classes')
        return self._counts

    def compute_metrics(self, results: list) -> Dict[str, float]:
        gts, preds = zip(*results)
        dataset_type = self.dataset_meta.get('dataset_type')
        if dataset_type not in ('oid_challenge', 'oid_v6'):
            dataset_type = 'oid_v6'
        out: Dict[str, float] = {}
        mean_aps = []
        for i, (iou, ioa) in enumerate(zip(self.iou_thrs, self.ioa_thrs)):
            mean_ap, per_class = eval_map(
                preds, gts, scale_ranges=self.scale_ranges, iou_thr=iou,
                ioa_thr=ioa, dataset=dataset_type, logger='silent',
                use_group_of=self.use_group_of)
            mean_aps.append(mean_ap)
            out[f'AP{int(iou * 100):02d}'] = round(mean_ap, 3)
            if i == 0:
                out.update(self._group_aps(per_class))
        out['mAP'] = sum(mean_aps) / len(mean_aps)
        print_log('OpenImages ' + ', '.join(
            f'{k} {v:.4f}' for k, v in out.items()), logger='current')
        return out

    def _group_aps(self, per_class: List[dict]) -> Dict[str, float]:
        ap = np.array([float(r['ap']) for r in per_class])
        has_gt = np.array([r['num_gts'] > 0 for r in per_class])
        groups = instance_groups(self._instance_counts(), self.num_groups)
        return {
            f'AP{g + 1}': (float(ap[idx[has_gt[idx]]].mean())
                           if has_gt[idx].any() else float('nan'))
            for g, idx in enumerate(groups)}
