"""RetinaNet Fig. 4: CDF of the normalised loss of a trained model, positives
and negatives.

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.loss_distribution_main``.
"""
from mmdet_efl.analysis.commands import loss_distribution_main

if __name__ == '__main__':
    loss_distribution_main()
