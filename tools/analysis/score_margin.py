"""EFL Fig. 4: per-category margins of positive and negative scores, several
checkpoints side by side.

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.score_margin_main``.
"""
from mmdet_efl.analysis.commands import score_margin_main

if __name__ == '__main__':
    score_margin_main()
