"""Per-category gamma_j and G_j from a checkpoint's EFL state against training
images.

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.focusing_factors_main``.
"""
from mmdet_efl.analysis.commands import focusing_factors_main

if __name__ == '__main__':
    focusing_factors_main()
