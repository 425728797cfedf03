"""Draw the papers' loss figures from the formulas (RetinaNet Figs. 1, 5-6; EFL
Figs. 3, 5).

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.loss_figures_main``.
"""
from mmdet_efl.analysis.commands import loss_figures_main

if __name__ == '__main__':
    loss_figures_main()
