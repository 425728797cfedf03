"""COCO/LVIS datasets that refuse bad annotations instead of skipping them.

mmdet's ``CocoDataset``/``LVISV1Dataset`` silently drop an annotation
whose category is not among the dataset's classes, whose box lies outside
its image or is under 1 px wide or high, whose ``area`` is not positive,
or whose ``image_id`` names no image; a repeated image id silently replaces
an image; a NaN coordinate drops or keeps a box at random; and a corrupt
file, a box of 3 numbers or a missing field fails with an error that names
no file or record. A silently dropped annotation changes the training data
and the evaluation. These variants check every record of the file while
loading and raise a ``ValueError``/``FileNotFoundError`` that names the
file, the record and the field (:mod:`.record_checks`).
"""
import json
import os.path as osp
from typing import List, Union

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.registry import DATASETS

from .record_checks import (field, index_by_id, number, record_label,
                            reference, sections, xywh_box)

#: how far (pixels) a box may reach past the image border (rounding)
BORDER_TOLERANCE = 1.0
#: mmdet drops boxes narrower or lower than this (``CocoDataset``)
MIN_BOX_SIDE = 1.0
_DROPS = '; mmdet would silently drop it'


class StrictAnnotationsMixin:
    """Validation shared by the strict datasets.

    Every record is checked once per load, when mmdet parses the first
    image: by then mmdet has indexed the file (``self.coco`` /
    ``self.lvis``) and mapped its categories to labels (``cat2label``).
    """

    #: the image field mmdet reads the file name from
    image_file_field = 'file_name'

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                'does not exist')
        self._records_checked = False
        try:
            return super().load_data_list()
        except json.JSONDecodeError as err:
            raise ValueError(
                f'{type(self).__name__}: annotation file {self.ann_file} is '
                f'not valid JSON ({err.msg} at line {err.lineno}, column '
                f'{err.colno})') from None
        except (KeyError, TypeError) as err:
            # mmdet's indexing failed on a record before we saw it: find it
            with open(self.ann_file) as f:
                self.check_records(json.load(f), check_labels=False)
            raise ValueError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                f'could not be indexed ({type(err).__name__}: {err})') \
                from None

    def _index(self):
        return getattr(self, 'lvis', None) or getattr(self, 'coco', None)

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        if not self._records_checked:
            self.check_records(self._index().dataset)
            self._records_checked = True
        data_info = super().parse_data_info(raw_data_info)
        if not osp.isfile(data_info['img_path']):
            img = raw_data_info['raw_img_info']
            raise FileNotFoundError(
                f'{self.ann_file}: image id {img["id"]}: image file '
                f"{data_info['img_path']} is missing")
        return data_info

    def check_records(self, data: dict, check_labels: bool = True) -> None:
        """Raises ValueError on the first bad record of the loaded file.

        Images need a unique integer ``id``, a positive finite ``width``
        and ``height`` and a file name. Annotations need a unique integer
        ``id``, an ``image_id`` of an image, a ``category_id`` among the
        dataset's categories (if ``check_labels``; ``cat2label`` must be
        set), a box of four finite numbers at least 1 px wide and high
        inside its image, and a positive finite ``area``. Annotations
        flagged ``ignore`` are only checked for their ids (mmdet skips
        them by design).
        """
        source = self.ann_file
        sections(data, source)
        index_by_id(data, 'categories', source)
        image_pos = index_by_id(data, 'images', source)
        index_by_id(data, 'annotations', source)
        for pos, img in enumerate(data['images']):
            where = record_label(source, 'images', pos, img)
            for name in ('width', 'height'):
                number(img, name, where, minimum=0, exclusive=True)
            field(img, self.image_file_field, where,
                  ', from which mmdet finds the image file')
        for pos, ann in enumerate(data['annotations']):
            where = record_label(source, 'annotations', pos, ann)
            img = data['images'][image_pos[reference(
                ann, 'image_id', where, image_pos, 'images')]]
            if ann.get('ignore', False):
                continue
            cat_id = field(ann, 'category_id', where)
            if check_labels and cat_id not in self.cat2label:
                raise ValueError(
                    f'{where}: category_id {cat_id!r} is not in the '
                    f'category list ({len(self.cat2label)} categories of '
                    f"this dataset's classes){_DROPS}")
            x, y, w, h = xywh_box(ann, where, min_side=MIN_BOX_SIDE,
                                  why=_DROPS)
            number(ann, 'area', where, minimum=0, exclusive=True,
                   why=_DROPS)
            width, height = img['width'], img['height']
            tol = BORDER_TOLERANCE
            if x < -tol or y < -tol or x + w > width + tol or \
                    y + h > height + tol:
                raise ValueError(f'{where}: bbox {ann["bbox"]} (x, y, w, h) '
                                 f'lies outside its {width}x{height} image '
                                 f'(image id {img["id"]})')


@DATASETS.register_module()
class StrictLVISV1Dataset(StrictAnnotationsMixin, LVISV1Dataset):
    """``LVISV1Dataset`` that raises on bad annotations (see module doc)."""

    # LVIS v1 names the image by its COCO URL
    image_file_field = 'coco_url'


@DATASETS.register_module()
class StrictCocoDataset(StrictAnnotationsMixin, CocoDataset):
    """``CocoDataset`` that raises on bad annotations (see module doc)."""
