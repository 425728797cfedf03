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
import os
import os.path as osp
import random
from typing import Dict, List, Set, Union

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.registry import DATASETS

from .record_checks import (JSON_NUMBERS, field, index_by_id, is_int,
                            number, plain_box, record_label, reference,
                            sections, xywh_box)

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
    Before that check of the whole file, a sample of image files
    (:attr:`image_sample`) is looked for, so that a wrong ``data_prefix``
    is reported at once.
    """

    #: the image field mmdet reads the file name from
    image_file_field = 'file_name'
    #: whether mmdet takes the categories from ``metainfo['classes']``
    #: (``CocoDataset``: a subset of the file's) or all of the file's
    #: (``LVISV1Dataset``)
    classes_from_metainfo = False
    #: (first, random): how many images are looked for before the check
    image_sample = (3, 5)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                'does not exist')
        self._records_checked = False
        self._listings: Dict[str, Set[str]] = {}
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
            self.check_image_sample(self._index().dataset)
            self.check_records(self._index().dataset)
            self._records_checked = True
        data_info = super().parse_data_info(raw_data_info)
        if not self._image_exists(data_info['img_path']):
            img = raw_data_info['raw_img_info']
            raise FileNotFoundError(
                f'{self.ann_file}: image id {img["id"]}: image file '
                f"{data_info['img_path']} is missing")
        return data_info

    def _image_exists(self, path: str) -> bool:
        """Whether ``path`` is a file, from one listing of its folder (a
        ``stat`` per image takes longer for a folder of 100k images)."""
        folder, name = osp.split(path)
        names = self._listings.get(folder)
        if names is None:
            try:
                names = {e.name for e in os.scandir(folder) if e.is_file()}
            except OSError:
                names = set()
            self._listings[folder] = names
        return name in names

    def check_image_sample(self, data: dict) -> None:
        """Raises FileNotFoundError if one of a sample of the file's images
        (the first, and some at random) has no image file: a wrong
        ``data_prefix`` is then reported before the whole file is checked.
        An image record too broken to give a path is left to
        :meth:`check_records`."""
        images = data.get('images') if isinstance(data, dict) else None
        if not isinstance(images, list) or not images:
            return
        first, randomly = self.image_sample
        rest = range(min(first, len(images)), len(images))
        picks = list(range(rest.start)) + random.Random(0).sample(
            rest, min(randomly, len(rest)))
        for pos in picks:
            img = images[pos]
            try:
                # mmdet's own path of the image (LVIS: from its coco_url)
                path = super().parse_data_info(dict(
                    raw_img_info=dict(img, img_id=img['id']),
                    raw_ann_info=[]))['img_path']
            except (KeyError, TypeError, AttributeError, ValueError):
                continue
            if not osp.isfile(path):
                where = record_label(self.ann_file, 'images', pos, img)
                raise FileNotFoundError(
                    f'{type(self).__name__}: {where}: '
                    f'image file {path} is missing (data_prefix '
                    f"img={self.data_prefix.get('img')!r}; {len(picks)} "
                    'images looked for before checking the whole file)')

    def check_records(self, data: dict, check_labels: bool = True) -> None:
        """Raises ValueError on the first bad record of the loaded file.

        Images need a unique integer ``id``, a positive finite ``width``
        and ``height`` and a file name. Annotations need a unique integer
        ``id``, an ``image_id`` of an image, a ``category_id`` among the
        file's categories (if ``check_labels``; ``cat2label`` must be
        set), a box of four finite numbers at least 1 px wide and high
        inside its image, and a positive finite ``area``. Annotations
        flagged ``ignore``, and (``StrictCocoDataset``) those of a
        category of the file outside the dataset's classes, are only
        checked for their ids: mmdet skips them by design. Every class of
        ``metainfo['classes']`` must name a category of the file (with
        ``check_labels``, where the classes select the categories).

        Most records are good: each is first tested by a fast check, and
        only one that fails it goes through the checks that explain.
        """
        source = self.ann_file
        sections(data, source)
        cat_pos = index_by_id(data, 'categories', source)
        image_pos = index_by_id(data, 'images', source)
        index_by_id(data, 'annotations', source)
        if check_labels and self.classes_from_metainfo:
            self._check_classes(data)
        images = data['images']
        name_field = self.image_file_field
        for pos, img in enumerate(images):
            w, h = img.get('width'), img.get('height')
            if not (type(w) in JSON_NUMBERS and type(h) in JSON_NUMBERS
                    and w > 0 and h > 0 and w - w + h - h == 0
                    and name_field in img):
                self._check_image(pos, img)
        labels = self.cat2label if check_labels else None
        tol, side = BORDER_TOLERANCE, MIN_BOX_SIDE
        for pos, ann in enumerate(data['annotations']):
            try:
                image_id, cat_id = ann['image_id'], ann['category_id']
                box, area = plain_box(ann['bbox']), ann['area']
                img = images[image_pos[image_id]]
                good = (box is not None and type(image_id) is int
                        and type(cat_id) is int
                        and (labels is None or cat_id in labels)
                        and not ann.get('ignore', False)
                        and type(area) in JSON_NUMBERS and area > 0
                        and area - area == 0
                        and box[2] >= side and box[3] >= side
                        and box[0] >= -tol and box[1] >= -tol
                        and box[0] + box[2] <= img['width'] + tol
                        and box[1] + box[3] <= img['height'] + tol)
            except (KeyError, TypeError):
                good = False
            if not good:
                self._check_annotation(pos, ann, data, image_pos, cat_pos,
                                       check_labels)

    def _check_classes(self, data: dict) -> None:
        names = {cat.get('name') for cat in data['categories']}
        missing = [c for c in self.metainfo['classes'] if c not in names]
        if missing:
            raise ValueError(
                f"{self.ann_file}: the dataset's classes (metainfo) name "
                f'{missing!r}, which no category of the file is called; '
                'mmdet would silently map the labels to the file\'s '
                'categories without them, so that label i would no longer '
                'be classes[i]')

    def _check_image(self, pos: int, img: dict) -> None:
        where = record_label(self.ann_file, 'images', pos, img)
        for name in ('width', 'height'):
            number(img, name, where, minimum=0, exclusive=True)
        field(img, self.image_file_field, where,
              ', from which mmdet finds the image file')

    def _check_annotation(self, pos: int, ann: dict, data: dict,
                          image_pos: Dict[int, int], cat_pos: Dict[int, int],
                          check_labels: bool) -> None:
        where = record_label(self.ann_file, 'annotations', pos, ann)
        img = data['images'][image_pos[reference(
            ann, 'image_id', where, image_pos, 'images')]]
        if ann.get('ignore', False):
            return
        cat_id = field(ann, 'category_id', where)
        if check_labels and cat_id not in self.cat2label:
            if is_int(cat_id) and cat_id in cat_pos:
                # a category of the file outside the dataset's classes
                # (a class subset): mmdet skips its annotations
                return
            raise ValueError(
                f'{where}: category_id {cat_id!r} is not in the '
                f'category list ({len(self.cat2label)} categories of '
                f"this dataset's classes){_DROPS}")
        x, y, w, h = xywh_box(ann, where, min_side=MIN_BOX_SIDE, why=_DROPS)
        number(ann, 'area', where, minimum=0, exclusive=True, why=_DROPS)
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
    """``CocoDataset`` that raises on bad annotations (see module doc).

    As in ``CocoDataset``, ``metainfo=dict(classes=(...))`` may choose a
    subset of the file's categories: the annotations of the others are
    skipped, as mmdet skips them; a class that names no category of the
    file is an error.
    """

    classes_from_metainfo = True
