"""COCO/LVIS datasets that refuse bad annotations instead of skipping them.

mmdet's ``CocoDataset``/``LVISV1Dataset`` silently drop annotations whose
category is not in the category list or whose box lies outside its image,
and fail on a corrupt file or a missing image with errors that do not say
which file or record is at fault. A silently dropped annotation changes the
training data and the evaluation. These variants check every record while
loading and raise a ``ValueError``/``FileNotFoundError`` that names the file
and the record.
"""
import json
import os.path as osp
from typing import List, Union

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.registry import DATASETS

#: how far (pixels) a box may reach past the image border (rounding)
BORDER_TOLERANCE = 1.0


class StrictAnnotationsMixin:
    """Validation shared by the strict datasets."""

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                'does not exist')
        try:
            return super().load_data_list()
        except json.JSONDecodeError as err:
            raise ValueError(
                f'{type(self).__name__}: annotation file {self.ann_file} is '
                f'not valid JSON ({err.msg} at line {err.lineno}, column '
                f'{err.colno})') from None
        except KeyError as err:
            raise ValueError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                f'lacks the field {err} that the format requires') from None

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        img = raw_data_info['raw_img_info']
        where = f'{self.ann_file}: image id {img.get("id", img.get("img_id"))}'
        data_info = super().parse_data_info(raw_data_info)
        if not osp.isfile(data_info['img_path']):
            raise FileNotFoundError(f'{where}: image file '
                                    f"{data_info['img_path']} is missing")
        width, height = img['width'], img['height']
        for ann in raw_data_info['raw_ann_info']:
            rec = f'{where}, annotation id {ann.get("id")}'
            if ann['category_id'] not in self.cat2label:
                raise ValueError(f'{rec}: category_id {ann["category_id"]} '
                                 'is not in the category list')
            x, y, w, h = ann['bbox']
            if w <= 0 or h <= 0:
                raise ValueError(f'{rec}: box {ann["bbox"]} has no area')
            tol = BORDER_TOLERANCE
            if x < -tol or y < -tol or x + w > width + tol or \
                    y + h > height + tol:
                raise ValueError(f'{rec}: box {ann["bbox"]} (x, y, w, h) '
                                 f'lies outside its {width}x{height} image')
        return data_info


@DATASETS.register_module()
class StrictLVISV1Dataset(StrictAnnotationsMixin, LVISV1Dataset):
    """``LVISV1Dataset`` that raises on bad annotations (see module doc)."""


@DATASETS.register_module()
class StrictCocoDataset(StrictAnnotationsMixin, CocoDataset):
    """``CocoDataset`` that raises on bad annotations (see module doc)."""
