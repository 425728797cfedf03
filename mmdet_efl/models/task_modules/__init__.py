from .dense_ohem import DenseOHEM

__all__ = ['DenseOHEM']
