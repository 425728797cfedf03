"""Is EFL acting on my data? Per frequency group: the share of categories at
G_j = 1, the mean gamma_j, when the group saturated, and a verdict.

Run with --help for the arguments; the logic is in
``mmdet_efl.analysis.commands.efl_diagnosis_main``.
"""
from mmdet_efl.analysis.commands import efl_diagnosis_main

if __name__ == '__main__':
    efl_diagnosis_main()
