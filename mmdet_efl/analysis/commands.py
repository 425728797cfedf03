"""The command lines of ``tools/analysis/``: each parses its arguments,
computes one figure through this package and writes ``NAME.png`` and the
numbers behind it as ``NAME.json`` to an output folder."""
import argparse
import inspect
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

import numpy as np
from mmengine.config import Config, DictAction

from mmdet_efl.datasets import label_counts
from mmdet_efl.engine.checkpoint import safe_checkpoint_loading
from mmdet_efl.registry import register_config_scope

from .dense_samples import (analysis_dataset_cfg, build_analysis_dataset,
                            consume, iter_dense_samples)
from .efl_diagnosis import (diagnose_work_dir, parameter_names,
                            plot_diagnosis, train_groups)
from .focusing_factors import (category_state_from_checkpoint,
                               plot_focusing_factors)
from .loss_distribution import (DEFAULT_GAMMAS, LossCollector,
                                plot_loss_distribution)
from .loss_figures import FORMULA_FIGURES
from .sample_ratio import SampleCounter, plot_sample_ratio
from .score_margin import MarginAccumulator, plot_margins
from .training_curves import plot_curves, read_scalars


def write_figure(out_dir: str, name: str,
                 draw: Callable[[str], dict]) -> dict:
    """Calls ``draw(png_path)`` and saves what it returns next to it."""
    os.makedirs(out_dir, exist_ok=True)
    base = osp.join(out_dir, name)
    data = draw(base + '.png')
    with open(base + '.json', 'w') as f:
        json.dump(data, f, default=_to_builtin)
    print(f'wrote {base}.png and {base}.json')
    return data


def _to_builtin(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f'{type(obj).__name__} is not JSON serialisable')


def _parser(doc: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        description=inspect.cleandoc(doc),
        formatter_class=argparse.RawTextHelpFormatter)


def _data_args(parser: argparse.ArgumentParser, split: str) -> None:
    group = parser.add_argument_group(
        'data', 'which images to run on; by default the config\'s own '
        'files, with its test pipeline')
    group.add_argument('--split', choices=('train', 'val', 'test'),
                       default=split, help=f'(default: {split})')
    group.add_argument('--ann-file', help='another annotation file')
    group.add_argument('--data-root', help='another data root')
    group.add_argument('--img-prefix', help='another image folder')
    group.add_argument('--train-ann-file',
                       help='annotations that give the categories\' '
                       'training-image counts (default: the config\'s '
                       'train split)')
    group.add_argument('--max-images', type=int,
                       help='a seeded random subset of this many images')
    group.add_argument('--batch-size', type=int, default=2)
    group.add_argument('--seed', type=int, default=0)
    group.add_argument('--cfg-options', nargs='+', action=DictAction,
                       help='override config settings, key=value')


def _config(path: str, args: argparse.Namespace) -> Config:
    # a config of one's own may take ours as bases (mmdet_efl::<path>)
    register_config_scope()
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


class _Datasets:
    """The datasets one command analyses, each built once: the training
    annotations are parsed once when they give both the samples
    (``--split train``) and the training-image counts, and the runs of
    ``score_margin`` share one set of images."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._built: Dict[str, object] = {}

    def _get(self, cfg: Config, split: str, ann_file: Optional[str]):
        # the image folder does not change the counts, so it is passed for
        # both uses and keeps their configs (and keys) equal
        paths = (ann_file, getattr(self.args, 'data_root', None),
                 getattr(self.args, 'img_prefix', None))
        key = repr(analysis_dataset_cfg(cfg, split, *paths).to_dict())
        if key not in self._built:
            self._built[key] = build_analysis_dataset(cfg, split, *paths)
        return self._built[key]

    def samples(self, cfg: Config, checkpoint: Optional[str]):
        args = self.args
        return iter_dense_samples(
            cfg, checkpoint, max_images=args.max_images,
            batch_size=args.batch_size, seed=args.seed,
            dataset=self._get(cfg, args.split, args.ann_file))

    def image_counts(self, cfg: Config) -> np.ndarray:
        """Training images per label (the frequency the figures sort by)."""
        return label_counts(
            self._get(cfg, 'train', self.args.train_ann_file), 'image')


def loss_figures_main(argv: Optional[List[str]] = None) -> None:
    """RetinaNet Figs. 1, 5-6 and EFL Figs. 3, 5 from the formulas."""
    parser = _parser(loss_figures_main.__doc__)
    parser.add_argument('out_dir', help='folder for the PNG and JSON files')
    parser.add_argument('--figures', nargs='+', choices=FORMULA_FIGURES,
                        default=list(FORMULA_FIGURES))
    args = parser.parse_args(argv)
    for name in args.figures:
        write_figure(args.out_dir, name, FORMULA_FIGURES[name])


def sample_ratio_main(argv: Optional[List[str]] = None) -> dict:
    """EFL Fig. 2: log ratio of positive to negative samples per category
    under the config's assigner (e.g. ATSS), categories sorted by
    frequency. Needs no checkpoint."""
    parser = _parser(sample_ratio_main.__doc__)
    parser.add_argument('config', help='a detector config (its dataset, '
                        'anchors and assigner are used)')
    parser.add_argument('out_dir', help='folder for the PNG and JSON')
    _data_args(parser, split='train')
    args = parser.parse_args(argv)
    cfg = _config(args.config, args)
    data = _Datasets(args)
    counts = data.image_counts(cfg)
    counter = SampleCounter(len(counts))
    consume(data.samples(cfg, None), [counter])
    return write_figure(
        args.out_dir, 'efl_fig2',
        lambda f: plot_sample_ratio(counter.result(), counts, f))


def loss_distribution_main(argv: Optional[List[str]] = None) -> dict:
    """RetinaNet Fig. 4: CDF of the normalised focal loss over positive and
    negative samples of a trained model, for several gamma."""
    parser = _parser(loss_distribution_main.__doc__)
    parser.add_argument('config', help='the config the model was trained '
                        'with')
    parser.add_argument('checkpoint', help='a .pth file of it')
    parser.add_argument('out_dir', help='folder for the PNG and JSON')
    parser.add_argument('--gammas', type=float, nargs='+',
                        default=list(DEFAULT_GAMMAS))
    _data_args(parser, split='val')
    args = parser.parse_args(argv)
    cfg = _config(args.config, args)
    collector = LossCollector(args.gammas)
    consume(_Datasets(args).samples(cfg, args.checkpoint), [collector])
    return write_figure(
        args.out_dir, 'retinanet_fig4',
        lambda f: plot_loss_distribution(collector.result(), f))


def score_margin_main(argv: Optional[List[str]] = None) -> dict:
    """EFL Fig. 4: per-category margin (mean positive score - mean negative
    score) of one or more trained models, side by side, e.g.

      --run FL fl_config.py fl.pth --run EFL efl_config.py efl.pth"""
    parser = _parser(score_margin_main.__doc__)
    parser.add_argument('out_dir', help='folder for the PNG and JSON')
    parser.add_argument('--run', nargs=3, action='append', required=True,
                        metavar=('NAME', 'CONFIG', 'CHECKPOINT'))
    _data_args(parser, split='val')
    args = parser.parse_args(argv)
    results: Dict[str, dict] = {}
    data = _Datasets(args)
    counts = None
    for name, config, checkpoint in args.run:
        cfg = _config(config, args)
        if counts is None:
            counts = data.image_counts(cfg)
        margin = MarginAccumulator(len(counts))
        consume(data.samples(cfg, checkpoint), [margin])
        results[name] = margin.result()
    return write_figure(args.out_dir, 'efl_fig4',
                        lambda f: plot_margins(results, counts, f))


def focusing_factors_main(argv: Optional[List[str]] = None) -> dict:
    """Per-category focusing factor gamma_j and gradient ratio G_j read from
    a checkpoint's EFL (or EQLv2) state, against training images."""
    parser = _parser(focusing_factors_main.__doc__)
    parser.add_argument('config', help='the config the model was trained '
                        'with')
    parser.add_argument('checkpoint', help='a .pth file of it')
    parser.add_argument('out_dir', help='folder for the PNG and JSON')
    parser.add_argument('--train-ann-file')
    parser.add_argument('--data-root')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = _config(args.config, args)
    values = category_state_from_checkpoint(cfg, args.checkpoint)
    counts = _Datasets(args).image_counts(cfg)
    return write_figure(
        args.out_dir, 'focusing_factors',
        lambda f: plot_focusing_factors(values, counts, f,
                                        title=osp.basename(args.checkpoint)))


def training_curves_main(argv: Optional[List[str]] = None) -> dict:
    """Curves of logged scalars from training work dirs; by default the
    per-group focusing factors GradientCollectorHook logs
    (loss_cls/gamma_rare, ...), e.g.

      --run EFL work_dirs/efl --run EQLv2 work_dirs/eqlv2"""
    parser = _parser(training_curves_main.__doc__)
    parser.add_argument('out_dir', help='folder for the PNG and JSON')
    parser.add_argument('--run', nargs=2, action='append', required=True,
                        metavar=('NAME', 'WORK_DIR'))
    parser.add_argument('--keys', nargs='+',
                        help='scalar names (default: every */gamma_* key)')
    parser.add_argument('--log-x', action='store_true',
                        help='logarithmic iteration axis')
    args = parser.parse_args(argv)
    return write_figure(args.out_dir, 'training_curves',
                        lambda f: plot_curves(dict(args.run), args.keys, f,
                                              log_x=args.log_x))


def efl_diagnosis_main(argv: Optional[List[str]] = None) -> dict:
    """Is EFL acting on my data? Reads a work dir's log and its last two
    checkpoints (GradientCollectorHook's statistics) and prints, per
    frequency group, the share of categories at G_j = 1, the mean gamma_j
    and when the group saturated, then a verdict and its reason, e.g.

      work_dirs/my_efl_run --config my_efl_config.py"""
    parser = _parser(efl_diagnosis_main.__doc__)
    parser.add_argument('work_dir', help='the training\'s work dir')
    parser.add_argument('--config', help='the training config, for the '
                        'frequency groups of its dataset and the loss '
                        'settings (default: the copy MMEngine saved in the '
                        'work dir, if there is exactly one)')
    parser.add_argument('--checkpoint', nargs='+',
                        help='checkpoints to read (default: the work dir\'s '
                        'last two)')
    parser.add_argument('--loss-key', help='the loss module in the '
                        'checkpoint, e.g. bbox_head.loss_cls (default: the '
                        'one with statistics)')
    parser.add_argument('--out-dir', metavar='out_dir',
                        help='also write efl_diagnosis.png '
                        'and .json here')
    parser.add_argument('--train-ann-file')
    parser.add_argument('--data-root')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    config = args.config or _saved_config(args.work_dir)
    groups = loss_cfg = names = None
    if config is not None:
        cfg = _config(config, args)
        groups = train_groups(cfg, args.train_ann_file, args.data_root)
        head = cfg.model.get('bbox_head', {})
        loss_cfg = head.get('loss_cls') if head else None
        names = parameter_names(cfg)
    try:
        records = read_scalars(args.work_dir)
    except FileNotFoundError:  # checkpoints only
        records = None
    # the checkpoints are read through MMEngine's loaders: the safe ones
    with safe_checkpoint_loading():
        diag = diagnose_work_dir(args.work_dir, args.checkpoint, groups,
                                 loss_cfg, args.loss_key, names, records)
    print(diag.format())
    if args.out_dir:
        write_figure(args.out_dir, 'efl_diagnosis',
                     lambda f: plot_diagnosis(records, diag, f))
    return diag.to_dict()


def _saved_config(work_dir: str) -> Optional[str]:
    """The config MMEngine copies to the top of a work dir, if unique."""
    found = [osp.join(work_dir, f) for f in sorted(os.listdir(work_dir))
             if f.endswith('.py')] if osp.isdir(work_dir) else []
    return found[0] if len(found) == 1 else None
