"""Draw the papers' loss figures from the formulas (PNG + JSON).

    python tools/analysis/loss_figures.py OUT_DIR [--figures efl_fig3 ...]

Figures: retinanet_fig1, retinanet_figs5_6, efl_fig3, efl_fig5. See
``mmdet_efl.analysis.loss_figures``.
"""
import argparse
import os

from mmdet_efl.analysis.loss_figures import FORMULA_FIGURES, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='folder for the PNG and JSON files')
    parser.add_argument('--figures', nargs='+', choices=FORMULA_FIGURES,
                        default=list(FORMULA_FIGURES))
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name in args.figures:
        base = os.path.join(args.out_dir, name)
        write_json(FORMULA_FIGURES[name](base + '.png'), base + '.json')
        print(f'wrote {base}.png and {base}.json')


if __name__ == '__main__':
    main()
