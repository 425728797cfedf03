"""EFL Fig. 2: positive/negative sample ratio per category under the config's
assigner.

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.sample_ratio_main``.
"""
from mmdet_efl.analysis.commands import sample_ratio_main

if __name__ == '__main__':
    sample_ratio_main()
