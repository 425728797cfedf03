"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out X.pkl]``.

Same flags as mmdet's ``tools/test.py``; see ``mmdet_efl.engine.launch``.
"""
from mmdet_efl.engine.launch import test

if __name__ == '__main__':
    test()
