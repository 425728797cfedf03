"""Small LVIS files whose box AP is worked out by hand, one per rule of the
LVIS protocol, shared by the evaluation tests.

How the hand values follow (the lvis-api's ``LVISEval``, which
faster-coco-eval's LVIS mode mirrors): per category and area range, the
detections of all images are ranked by score; each is a true positive (TP)
if it matches an unmatched ground-truth box at the IoU threshold, a false
positive (FP) otherwise, unless it is ignored. Recall after the k-th
detection is TP_k / num_gt, precision TP_k / k; precision is made
non-increasing from the right and read at the 101 recall thresholds
0, 0.01, ..., 1 (0 beyond the highest recall reached). The AP of a
category is the mean of those 101 values (and of the 10 IoU thresholds
0.5:0.95, equal here because every detection either equals a ground-truth
box or does not overlap it). AP, APr/APc/APf and APs/APm/APl average over
the categories (of a frequency group) that have ground truth (in that
area range); -1 where none has.

Two sequences recur:

* ``FP, TP`` with one ground truth: recall [0, 1], precision [0, 1/2],
  made non-increasing [1/2, 1/2]: every threshold reads 1/2, AP = 0.5.
* ``TP, TP`` with three ground truths: recall [1/3, 2/3], precision 1;
  thresholds 0 .. 0.66 (67 of 101) read 1, the rest 0: AP = 67/101.

Boxes: ``SMALL`` 20x20 (area 400 < 32^2), ``MEDIUM`` 50x50 (2500, between
32^2 and 96^2), ``LARGE`` 100x100 (10000 > 96^2); ``ELSEWHERE`` overlaps
none of them.
"""
import json
from typing import Dict, List, Sequence

SMALL = [10.0, 10.0, 20.0, 20.0]
MEDIUM = [40.0, 40.0, 50.0, 50.0]
LARGE = [60.0, 60.0, 100.0, 100.0]
ELSEWHERE = [170.0, 5.0, 25.0, 25.0]
KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


def image(img_id: int, neg: Sequence[int] = (),
          not_exhaustive: Sequence[int] = ()) -> dict:
    return dict(id=img_id, width=200, height=200,
                coco_url=f'http://images.cocodataset.org/val2017/'
                f'{img_id:012d}.jpg',
                neg_category_ids=list(neg),
                not_exhaustive_category_ids=list(not_exhaustive))


def category(cat_id: int, frequency: str) -> dict:
    return dict(id=cat_id, name=f'cat{cat_id}', frequency=frequency,
                synset=f'cat{cat_id}.n.01', image_count=1,
                instance_count=1)


def gt_file(images: List[dict], boxes: Sequence[tuple],
            categories: List[dict]) -> dict:
    """``boxes``: ``(image_id, category_id, xywh)`` ground truth."""
    anns = [dict(id=k + 1, image_id=i, category_id=c, bbox=list(b),
                 area=b[2] * b[3]) for k, (i, c, b) in enumerate(boxes)]
    return dict(info={}, licenses=[], images=images, annotations=anns,
                categories=categories)


def det(img_id: int, cat_id: int, box: Sequence[float],
        score: float) -> dict:
    return dict(image_id=img_id, category_id=cat_id, bbox=list(box),
                score=score)


def _case(name, gt, dets, expected, per_category):
    return dict(name=name, gt=gt, dets=dets, expected=expected,
                per_category=per_category)


def _fill(values: Dict[str, float], ap: float) -> Dict[str, float]:
    """AP, AP50 and AP75 are equal in every case (see module doc)."""
    return dict(AP=ap, AP50=ap, AP75=ap, **values)


def cases() -> List[dict]:
    """The cases: name, ground truth, detections, the expected summary
    (keys of :data:`KEYS`) and per-category AP (NaN: no ground truth)."""
    out = []
    # Perfect detections give 1.0 everywhere: one category per frequency
    # group and per area range.
    out.append(_case(
        'perfect',
        gt_file([image(1), image(2)],
                [(1, 1, SMALL), (1, 2, MEDIUM), (2, 3, LARGE)],
                [category(1, 'r'), category(2, 'c'), category(3, 'f')]),
        [det(1, 1, SMALL, 0.9), det(1, 2, MEDIUM, 0.8),
         det(2, 3, LARGE, 0.7)],
        _fill(dict(APs=1.0, APm=1.0, APl=1.0, APr=1.0, APc=1.0, APf=1.0),
              1.0),
        {1: 1.0, 2: 1.0, 3: 1.0}))
    # A false positive on an image that lists the category as verified
    # negative counts: category 1 ranks FP (0.9, image 2), TP (0.6): AP
    # 0.5; category 2 is perfect: AP = (0.5 + 1) / 2.
    negative = gt_file([image(1), image(2, neg=[1])],
                       [(1, 1, LARGE), (2, 2, LARGE)],
                       [category(1, 'f'), category(2, 'f')])
    dets = [det(2, 1, LARGE, 0.9), det(1, 1, LARGE, 0.6),
            det(2, 2, LARGE, 0.8)]
    out.append(_case(
        'fp_on_verified_negative', negative, dets,
        _fill(dict(APs=-1.0, APm=-1.0, APl=0.75, APr=-1.0, APc=-1.0,
                   APf=0.75), 0.75),
        {1: 0.5, 2: 1.0}))
    # The same detections, but image 2 does not list category 1 (neither
    # present nor verified absent): the FP is not evaluated, AP = 1.
    unlisted = gt_file([image(1), image(2)],
                       [(1, 1, LARGE), (2, 2, LARGE)],
                       [category(1, 'f'), category(2, 'f')])
    out.append(_case(
        'fp_on_unlisted_image', unlisted, dets,
        _fill(dict(APs=-1.0, APm=-1.0, APl=1.0, APr=-1.0, APc=-1.0,
                   APf=1.0), 1.0),
        {1: 1.0, 2: 1.0}))
    # Category 1 is not exhaustively annotated in image 1: its unmatched
    # detection there (0.9, elsewhere) is ignored, AP = 1 ...
    dets = [det(1, 1, ELSEWHERE, 0.9), det(1, 1, LARGE, 0.6)]
    out.append(_case(
        'not_exhaustive',
        gt_file([image(1, not_exhaustive=[1])], [(1, 1, LARGE)],
                [category(1, 'c')]),
        dets,
        _fill(dict(APs=-1.0, APm=-1.0, APl=1.0, APr=-1.0, APc=1.0,
                   APf=-1.0), 1.0),
        {1: 1.0}))
    # ... while exhaustively annotated it is an FP ranked first: AP 0.5
    # (and APl too: the FP box is small but its IoU with nothing matters
    # not; in 'large' it is out of range and ignored: APl = 1, APs has no
    # ground truth: -1).
    out.append(_case(
        'exhaustive',
        gt_file([image(1)], [(1, 1, LARGE)], [category(1, 'c')]),
        dets,
        _fill(dict(APs=-1.0, APm=-1.0, APl=1.0, APr=-1.0, APc=0.5,
                   APf=-1.0), 0.5),
        {1: 0.5}))
    # Images without any ground truth: image 2 lists category 1 as
    # verified negative (its detection is an FP), image 3 does not (its
    # detection, scored highest, is not evaluated). FP, TP: AP 0.5 (with
    # image 3's counted it would be FP, FP, TP: AP 1/3).
    out.append(_case(
        'image_without_ground_truth',
        gt_file([image(1), image(2, neg=[1]), image(3)], [(1, 1, LARGE)],
                [category(1, 'f')]),
        [det(3, 1, LARGE, 0.95), det(2, 1, LARGE, 0.9),
         det(1, 1, LARGE, 0.6)],
        _fill(dict(APs=-1.0, APm=-1.0, APl=0.5, APr=-1.0, APc=-1.0,
                   APf=0.5), 0.5),
        {1: 0.5}))
    # At most 300 detections per image, the highest scoring. Image 1 has a
    # ground truth of category 1, detected with the lowest score, after
    # n detections of category 2 (verified negative, no ground truth
    # anywhere: not part of any average). n = 299: the TP is the 300th,
    # AP 1; n = 300: it is cut, category 1 has no detection, AP 0.
    for n, ap in ((299, 1.0), (300, 0.0)):
        out.append(_case(
            f'cap_300_with_{n}_others',
            gt_file([image(1, neg=[2])], [(1, 1, LARGE)],
                    [category(1, 'c'), category(2, 'r')]),
            [det(1, 2, [float(k % 150), float(k // 150), 10.0, 10.0],
                 0.5 + k / 1000) for k in range(n)]
            + [det(1, 1, LARGE, 0.1)],
            _fill(dict(APs=-1.0, APm=-1.0, APl=ap, APr=-1.0, APc=ap,
                       APf=-1.0), ap),
            {1: ap, 2: float('nan')}))
    # A category that is never predicted has AP 0 and counts in the mean.
    out.append(_case(
        'never_predicted',
        gt_file([image(1), image(2)], [(1, 1, LARGE), (2, 2, LARGE)],
                [category(1, 'f'), category(2, 'f')]),
        [det(1, 1, LARGE, 0.9)],
        _fill(dict(APs=-1.0, APm=-1.0, APl=0.5, APr=-1.0, APc=-1.0,
                   APf=0.5), 0.5),
        {1: 1.0, 2: 0.0}))
    # Frequency groups from the categories' 'frequency': rare category 1
    # perfect (1), common category 2 FP, TP (0.5), frequent category 3
    # never predicted (0). AP = 1.5 / 3.
    out.append(_case(
        'frequency_groups',
        gt_file([image(1), image(2, neg=[2])],
                [(1, 1, LARGE), (1, 2, MEDIUM), (2, 3, LARGE)],
                [category(1, 'r'), category(2, 'c'), category(3, 'f')]),
        [det(1, 1, LARGE, 0.8), det(2, 2, MEDIUM, 0.9),
         det(1, 2, MEDIUM, 0.6)],
        _fill(dict(APs=-1.0, APm=0.5, APl=0.5, APr=1.0, APc=0.5,
                   APf=0.0), 0.5),
        {1: 1.0, 2: 0.5, 3: 0.0}))
    # Area ranges by the ground truth's 'area': a small, a medium and a
    # large ground truth; the large and medium ones are found (TP, TP of
    # three: AP 67/101), the small one is missed: APs 0, APm 1, APl 1 (in
    # each range, ground truth and detections of the other sizes are
    # ignored).
    out.append(_case(
        'area_ranges',
        gt_file([image(1), image(2), image(3)],
                [(1, 1, SMALL), (2, 1, MEDIUM), (3, 1, LARGE)],
                [category(1, 'f')]),
        [det(3, 1, LARGE, 0.9), det(2, 1, MEDIUM, 0.8)],
        _fill(dict(APs=0.0, APm=1.0, APl=1.0, APr=-1.0, APc=-1.0,
                   APf=67 / 101), 67 / 101),
        {1: 67 / 101}))
    return out


def write(case: dict, directory) -> str:
    path = directory / f'{case["name"]}.json'
    path.write_text(json.dumps(case['gt']))
    return str(path)
