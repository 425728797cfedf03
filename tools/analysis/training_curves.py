"""Per-group focusing-factor curves (or any scalars) from training logs.

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.training_curves_main``.
"""
from mmdet_efl.analysis.commands import training_curves_main

if __name__ == '__main__':
    training_curves_main()
