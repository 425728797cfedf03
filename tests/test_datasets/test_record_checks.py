"""The record checks of COCO/LVIS files (``datasets/record_checks.py``),
called directly: each refusal with its whole message, the boundary values
that pass, and the values returned."""
import math

import pytest

from mmdet_efl.datasets.record_checks import (field, id_list, index_by_id,
                                              is_int, is_number, number,
                                              record_label, reference,
                                              sections, xywh_box)

UNIQUE = ('; ids must be unique (the later record would silently replace '
          'the earlier one)')


def _raises(message, fn, *args, **kwargs):
    with pytest.raises(ValueError) as err:
        fn(*args, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize('section,index,record,label', [
    ('annotations', 6, {'id': 7}, 'f.json: annotation id 7 (annotations[6])'),
    ('images', 0, {'id': '2'}, "f.json: image id '2' (images[0])"),
    ('categories', 1, {'id': 3}, 'f.json: category id 3 (categories[1])'),
    ('images', 2, {'file_name': 'a.png'}, 'f.json: image id None (images[2])'),
    ('images', 2, [3], 'f.json: image id None (images[2])'),
    ('videos', 4, {'id': 1}, 'f.json: videos id 1 (videos[4])'),
])
def test_record_label(section, index, record, label):
    assert record_label('f.json', section, index, record) == label


def test_sections_accept_lists_of_objects():
    full = dict(images=[{}], annotations=[], categories=[{'id': 1}])
    assert sections(full, 'f') is None
    assert sections(dict(images=[{}]), 'f', names=('images', )) is None


@pytest.mark.parametrize('data,message', [
    ([], 'f: an annotation file must hold a JSON object, got list'),
    (dict(images=[], annotations=[]), "f: lacks the list 'categories'"),
    (dict(images=None, annotations=[], categories=[]),
     "f: 'images' must be a list, got NoneType"),
    (dict(images=[], annotations={}, categories=[]),
     "f: 'annotations' must be a list, got dict"),
    (dict(images=[], annotations=[{}, 3], categories=[]),
     'f: annotations[1] must be a JSON object, got 3'),
])
def test_sections_refuse(data, message):
    _raises(message, sections, data, 'f')


@pytest.mark.parametrize('value,integer,finite', [
    (3, True, True), (0, True, True), (-2, True, True), (True, False, False),
    (False, False, False), (3.0, False, True), (-0.5, False, True),
    (math.nan, False, False), (math.inf, False, False),
    (-math.inf, False, False), ('1', False, False), (None, False, False)])
def test_is_int_and_is_number(value, integer, finite):
    assert is_int(value) is integer
    assert is_number(value) is finite


def test_index_by_id_maps_ids_to_positions():
    data = dict(images=[{'id': 5}, {'id': -3}, {'id': 0}])
    assert index_by_id(data, 'images', 'f') == {5: 0, -3: 1, 0: 2}
    data = dict(annotations=[{'id': 1}, {'id': 9}])
    assert index_by_id(data, 'annotations', 'f', positive=True) == {1: 0,
                                                                    9: 1}


@pytest.mark.parametrize('records,positive,message', [
    ([{'id': 1}, {}], False,
     'f: image id None (images[1]): id must be an integer, got None'),
    ([{'id': 2.0}], False,
     'f: image id 2.0 (images[0]): id must be an integer, got 2.0'),
    ([{'id': True}], False,
     'f: image id True (images[0]): id must be an integer, got True'),
    ([{'id': 0}], True,
     'f: image id 0 (images[0]): id must be a positive integer, got 0'),
    ([{'id': '1'}], True,
     "f: image id '1' (images[0]): id must be a positive integer, got '1'"),
    ([{'id': 5}, {'id': 6}, {'id': 5}], False,
     'f: image id 5 (images[2]): repeats the id of images[0]' + UNIQUE),
    ([{'id': 4}, {'id': 5}, {'id': 5}], True,
     'f: image id 5 (images[2]): repeats the id of images[1]' + UNIQUE),
])
def test_index_by_id_refuses(records, positive, message):
    _raises(message, index_by_id, dict(images=records), 'images', 'f',
            positive)


def test_field():
    assert field({'a': 0}, 'a', 'W') == 0
    assert field({'a': None}, 'a', 'W', ' (why)') is None
    _raises("W: lacks the field 'b'", field, {'a': 1}, 'b', 'W')
    _raises("W: lacks the field 'b' (why)", field, {'a': 1}, 'b', 'W',
            ' (why)')


def test_number_returns_values_at_and_above_the_minimum():
    assert number({'v': -7.5}, 'v', 'W') == -7.5
    assert number({'v': 0}, 'v', 'W', minimum=0) == 0
    assert number({'v': 2}, 'v', 'W', minimum=2.0) == 2
    assert number({'v': 0.25}, 'v', 'W', minimum=0, exclusive=True) == 0.25


@pytest.mark.parametrize('value,kwargs,message', [
    ('1', {}, "W: v must be a finite number, got '1'"),
    (True, {}, 'W: v must be a finite number, got True'),
    (math.nan, dict(why='; why'), 'W: v must be a finite number, got '
     'nan; why'),
    (-1, dict(minimum=0), 'W: v must be >= 0, got -1'),
    (1.5, dict(minimum=2, why='; why'), 'W: v must be >= 2, got 1.5; why'),
    (0, dict(minimum=0, exclusive=True), 'W: v must be > 0, got 0'),
    (-1, dict(minimum=0, exclusive=True), 'W: v must be > 0, got -1'),
])
def test_number_refuses(value, kwargs, message):
    _raises(message, number, {'v': value}, 'v', 'W', **kwargs)
    _raises("W: lacks the field 'v'" + kwargs.get('why', ''), number,
            {}, 'v', 'W', **kwargs)


def test_reference():
    assert reference({'image_id': 3}, 'image_id', 'W', {1: 0, 3: 1},
                     'images') == 3
    for bad in (9, True, '3', 3.0):
        known = {1: 0, 3: 1} if bad is not True else {1: 0}
        _raises(f"W: image_id {bad!r} is not the id of any of the file's "
                'images', reference, {'image_id': bad}, 'image_id', 'W',
                known, 'images')
    _raises("W: lacks the field 'image_id'", reference, {}, 'image_id', 'W',
            {1: 0}, 'images')


def test_id_list():
    known = {1: 0, 2: 1}
    assert id_list({'neg': [2, 1]}, 'neg', 'W', known, 'cats') == [2, 1]
    assert id_list({'neg': []}, 'neg', 'W', known, 'cats') == []
    _raises("W: neg must be a list of ids of the file's cats, got (1,)",
            id_list, {'neg': (1, )}, 'neg', 'W', known, 'cats')
    _raises("W: neg holds [9, True, '1', 8, 7], which are not ids of the "
            "file's cats", id_list, {'neg': [1, 9, True, '1', 2, 8, 7, 6]},
            'neg', 'W', {1: 0, 2: 1}, 'cats')
    _raises("W: lacks the field 'neg'", id_list, {}, 'neg', 'W', known,
            'cats')
    _raises("W: lacks the field 'neg' (why)", id_list, {}, 'neg', 'W', known,
            'cats', ' (why)')


def test_xywh_box_returns_a_list():
    assert xywh_box({'bbox': (1, 2.5, 3, 4)}, 'W') == [1, 2.5, 3, 4]
    assert xywh_box({'bbox': [-5.0, -6.0, 0.5, 0.25]}, 'W') == [
        -5.0, -6.0, 0.5, 0.25]  # no minimum side by default
    assert xywh_box({'bbox': [0, 0, 0, 0]}, 'W', allow_empty=True) == [
        0, 0, 0, 0]
    assert xywh_box({'bbox': [0, 0, 1.0, 2.0]}, 'W', min_side=1.0) == [
        0, 0, 1.0, 2.0]


@pytest.mark.parametrize('box,kwargs,tail', [
    ('abcd', {}, "bbox must be 4 numbers [x, y, w, h], got 'abcd': 'abcd'"),
    ([1, 2, 3], {}, 'bbox must be 4 numbers [x, y, w, h], got 3 values: '
     '[1, 2, 3]'),
    ((1, 2, 3, 4, 5), {}, 'bbox must be 4 numbers [x, y, w, h], got 5 '
     'values: (1, 2, 3, 4, 5)'),
    ([1, 2, '3', 4], {}, "bbox [1, 2, '3', 4] holds a value that is not a "
     'finite number'),
    ([1, math.inf, 3, 4], {}, 'bbox [1, inf, 3, 4] holds a value that is '
     'not a finite number'),
    ([1, 2, -3, 4], dict(allow_empty=True), 'bbox [1, 2, -3, 4] (x, y, w, '
     'h) has a negative width or height'),
    ([1, 2, 3, -4], dict(allow_empty=True), 'bbox [1, 2, 3, -4] (x, y, w, '
     'h) has a negative width or height'),
    ([1, 2, 0, 4], {}, 'bbox [1, 2, 0, 4] (x, y, w, h) has no area'),
    ([1, 2, 3, 0.0], {}, 'bbox [1, 2, 3, 0.0] (x, y, w, h) has no area'),
    ([1, 2, 0.5, 4], dict(min_side=1.0, why='; why'), 'bbox [1, 2, 0.5, 4] '
     '(x, y, w, h) is less than 1.0 px wide or high; why'),
    ([1, 2, 4, 0.5], dict(min_side=1.0), 'bbox [1, 2, 4, 0.5] (x, y, w, h) '
     'is less than 1.0 px wide or high'),
])
def test_xywh_box_refuses(box, kwargs, tail):
    _raises('W: ' + tail, xywh_box, {'bbox': box}, 'W', **kwargs)


def test_xywh_box_needs_the_field():
    _raises("W: lacks the field 'bbox'", xywh_box, {}, 'W')
