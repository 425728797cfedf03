"""Checks of the records of COCO/LVIS annotation files, each error naming
the file, the record and the field.

mmdet's datasets and both LVIS evaluators index these files with dicts:
a repeated id silently replaces a record, an annotation whose ``image_id``
is not an image is never reached, a NaN coordinate fails every comparison
and so keeps or drops a box at random, and a missing field raises a bare
``KeyError`` in one evaluator while the other reads a default. These
functions are the one place where such records are refused, used by the
strict training datasets (:mod:`.strict_datasets`) and by the LVIS
evaluation (:mod:`mmdet_efl.evaluation.functional.lvis_annotations`).
"""
import math
from numbers import Real
from typing import Any, Collection, Dict, List, Optional, Sequence

#: the record kinds of a COCO/LVIS file, by section name
RECORD_KINDS = dict(images='image', annotations='annotation',
                    categories='category')


def record_label(source: str, section: str, index: int, record: Any) -> str:
    """``'<file>: annotation id 7 (annotations[6])'``: the prefix of every
    error about one record."""
    kind = RECORD_KINDS.get(section, section)
    rid = record.get('id') if isinstance(record, dict) else None
    return f'{source}: {kind} id {rid!r} ({section}[{index}])'


def sections(data: Any, source: str,
             names: Sequence[str] = ('images', 'annotations', 'categories')
             ) -> None:
    """Raises ValueError unless ``data`` is a JSON object whose ``names``
    are lists of objects."""
    if not isinstance(data, dict):
        raise ValueError(f'{source}: an annotation file must hold a JSON '
                         f'object, got {type(data).__name__}')
    for name in names:
        if not isinstance(data.get(name), list):
            raise ValueError(
                f'{source}: lacks the list {name!r}'
                if name not in data else
                f'{source}: {name!r} must be a list, got '
                f'{type(data[name]).__name__}')
        for index, record in enumerate(data[name]):
            if not isinstance(record, dict):
                raise ValueError(
                    f'{source}: {name}[{index}] must be a JSON object, got '
                    f'{record!r}')


def is_int(value: Any) -> bool:
    """An integer, and not a bool (``True == 1`` in Python)."""
    return type(value) is int or (isinstance(value, int) and
                                  not isinstance(value, bool))


#: the types JSON numbers load as; checked by identity first, because the
#: ``Real`` ABC check costs more than the rest of a record's checks
JSON_NUMBERS = (float, int)


def is_number(value: Any) -> bool:
    """A finite real number, and not a bool."""
    if type(value) in JSON_NUMBERS:
        return value - value == 0  # False for inf and nan
    return isinstance(value, Real) and not isinstance(value, bool) and \
        math.isfinite(value)


def plain_box(box: Any) -> Optional[Sequence[float]]:
    """``box`` if it is a list of four finite JSON numbers, else None: the
    fast test that lets a file's good boxes skip :func:`xywh_box`, which
    explains a bad one."""
    if type(box) is list and len(box) == 4:
        x, y, w, h = box
        if type(x) in JSON_NUMBERS and type(y) in JSON_NUMBERS and \
                type(w) in JSON_NUMBERS and type(h) in JSON_NUMBERS and \
                x - x + y - y + w - w + h - h == 0:
            return box
    return None


def index_by_id(data: dict, section: str, source: str,
                positive: bool = False) -> Dict[int, int]:
    """``{id: position}`` of the records of ``data[section]``.

    Raises:
        ValueError: a record lacks an integer ``id`` (a positive one if
            ``positive``), or repeats the id of an earlier record.
    """
    index: Dict[int, int] = {}
    for pos, record in enumerate(data[section]):
        rid = record.get('id')
        if not is_int(rid) or (positive and rid < 1):
            raise ValueError(
                f'{record_label(source, section, pos, record)}: id must be '
                f'a{" positive" if positive else "n"} integer, got {rid!r}')
        if rid in index:
            raise ValueError(
                f'{record_label(source, section, pos, record)}: repeats the '
                f'id of {section}[{index[rid]}]; ids must be unique (the '
                'later record would silently replace the earlier one)')
        index[rid] = pos
    return index


def field(record: dict, name: str, where: str, why: str = '') -> Any:
    """``record[name]``, or a ValueError naming the record and field."""
    if name not in record:
        raise ValueError(f'{where}: lacks the field {name!r}{why}')
    return record[name]


def number(record: dict, name: str, where: str,
           minimum: Optional[float] = None, exclusive: bool = False,
           why: str = '') -> float:
    """A finite number at ``record[name]``, at least (or, if
    ``exclusive``, above) ``minimum``; ``why`` is appended to errors."""
    value = field(record, name, where, why)
    if not is_number(value):
        raise ValueError(f'{where}: {name} must be a finite number, got '
                         f'{value!r}{why}')
    if minimum is not None and (value <= minimum if exclusive
                                else value < minimum):
        raise ValueError(f'{where}: {name} must be '
                         f'{">" if exclusive else ">="} {minimum}, got '
                         f'{value!r}{why}')
    return value


def reference(record: dict, name: str, where: str,
              known: Collection[int], what: str) -> int:
    """An id at ``record[name]`` that must name one of ``known`` (the ids
    of the file's ``what``)."""
    value = field(record, name, where)
    if not is_int(value) or value not in known:
        raise ValueError(f'{where}: {name} {value!r} is not the id of any '
                         f'of the file\'s {what}')
    return value


def id_list(record: dict, name: str, where: str, known: Collection[int],
            what: str, why: str = '') -> List[int]:
    """A list of ids at ``record[name]``, each one of ``known``."""
    value = field(record, name, where, why)
    if not isinstance(value, list):
        raise ValueError(f'{where}: {name} must be a list of ids of the '
                         f"file's {what}, got {value!r}")
    unknown = [v for v in value if not is_int(v) or v not in known]
    if unknown:
        raise ValueError(f'{where}: {name} holds {unknown[:5]!r}, which '
                         f'are not ids of the file\'s {what}')
    return value


def xywh_box(record: dict, where: str, min_side: float = 0.0,
             allow_empty: bool = False, why: str = '') -> List[float]:
    """``record['bbox']``: four finite numbers ``[x, y, w, h]``.

    ``w`` or ``h`` below 0 is refused, and so is 0 (the box has no area)
    unless ``allow_empty``; a side below ``min_side`` is refused with
    ``why`` appended to the message.
    """
    box = field(record, 'bbox', where)
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        got = f'{len(box)} values' if isinstance(box, (list, tuple)) \
            else repr(box)
        raise ValueError(f'{where}: bbox must be 4 numbers [x, y, w, h], '
                         f'got {got}: {box!r}')
    if not all(is_number(v) for v in box):
        raise ValueError(f'{where}: bbox {box!r} holds a value that is not '
                         'a finite number')
    w, h = box[2], box[3]
    if w < 0 or h < 0:
        raise ValueError(f'{where}: bbox {box!r} (x, y, w, h) has a '
                         'negative width or height')
    if not allow_empty and (w == 0 or h == 0):
        raise ValueError(f'{where}: bbox {box!r} (x, y, w, h) has no area')
    if w < min_side or h < min_side:
        raise ValueError(f'{where}: bbox {box!r} (x, y, w, h) is less than '
                         f'{min_side} px wide or high{why}')
    return list(box)
