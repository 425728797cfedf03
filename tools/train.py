"""Train a detector: ``python tools/train.py CONFIG [--work-dir DIR] ...``.

Same flags as mmdet's ``tools/train.py``; see ``mmdet_efl.engine.launch``.
"""
from mmdet_efl.engine.launch import train

if __name__ == '__main__':
    train()
