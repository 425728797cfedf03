"""LVIS v1 at its real size: loading and box evaluation, time and peak memory.

    python bench/lvis_full_size.py [--sizes 2500 5000 10000 19809]
        [--rows eval-faster eval-lvis eval-mmdet format-ours format-mmdet
                load-strict load-mmdet dist agree]
        [--label after] [--pythonpath DIR] [--mem-limit-gib 20]

Generates annotation-only LVIS v1 files of the real sizes
(``mmdet_efl.testing.lvis_like``: val 19,809 images / 244,707 boxes,
train 100,170 / 1,270,141, 1,203 categories 337 r / 461 c / 405 f,
polygons, negative and not-exhaustive lists; sub-sized val files of
``--sizes`` images) and detections of a detector's shape (exactly 300 per
image: one jittered box per ground truth, the rest false positives). Then
measures, each in a fresh process (peak RSS: the child's ``VmHWM``):

* ``eval-faster``/``eval-lvis``: ``LVISBoxMetric`` (backend
  faster_coco_eval / lvis) fed as an mmdet runner feeds it (``process``
  per batch of 8 images, then ``evaluate``); ``eval-mmdet``: mmdet's
  ``LVISMetric`` the same way (the baseline); ``format-ours`` /
  ``format-mmdet``: the same with ``format_only`` (the submission file);
* ``load-strict``/``load-mmdet``: building ``StrictLVISV1Dataset`` /
  ``LVISV1Dataset`` on the train file (``--train-images``; empty image
  files are created for the strict check);
* ``agree``: the official lvis-api run on the whole file, unchunked,
  against ``evaluate_lvis`` with each backend (largest absolute
  differences of the summary and of per-category AP), up to
  ``--mmdet-max-images``;
* ``dist``: ``LVISBoxMetric`` in 2 processes (torchrun, gloo), each
  processing half of the ``--dist-images`` file, gathered by mmengine's
  ``Evaluator`` as under ``tools/dist_test.sh``: the peak of rank 0 against
  one process on the same file.

A child that passes ``--mem-limit-gib`` is killed (and reported as such).
Prints a table (time, peak memory, ratio to mmdet's at the same size, and
the growth per 1,000 images) and merges the rows, under ``--label``, into
``--out``. ``--pythonpath`` runs the children against another checkout of
the package (e.g. an older commit, for before/after tables).
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import threading
import time

#: row: (metric, backend, format_only)
EVAL_ROWS = {'eval-faster': ('LVISBoxMetric', 'faster_coco_eval', False),
             'eval-lvis': ('LVISBoxMetric', 'lvis', False),
             'eval-mmdet': ('LVISMetric', None, False),
             'format-ours': ('LVISBoxMetric', 'faster_coco_eval', True),
             'format-mmdet': ('LVISMetric', None, True)}
LOAD_ROWS = {'load-strict': 'StrictLVISV1Dataset',
             'load-mmdet': 'LVISV1Dataset'}
ALL_ROWS = (*EVAL_ROWS, *LOAD_ROWS, 'dist', 'agree')
GIB = 1024 ** 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[2500, 5000, 10000, 19809],
                        help='val images of each evaluated file')
    parser.add_argument('--rows', nargs='+', default=list(ALL_ROWS),
                        choices=ALL_ROWS)
    parser.add_argument('--mmdet-max-images', type=int, default=10000,
                        help='eval-mmdet only up to this size')
    parser.add_argument('--train-images', type=int, default=100170)
    parser.add_argument('--dist-images', type=int, default=5000)
    parser.add_argument('--num-categories', type=int, default=1203)
    parser.add_argument('--work', default='/tmp/lvis_full_size',
                        help='where the generated files go (reused)')
    parser.add_argument('--label', default='after')
    parser.add_argument('--pythonpath', default=None,
                        help='checkout whose mmdet_efl the children import')
    parser.add_argument('--mem-limit-gib', type=float, default=20.0)
    parser.add_argument('--timeout', type=float, default=1800.0)
    parser.add_argument('--out', default='bench/results/lvis_full_size.json')
    parser.add_argument('--report', action='store_true',
                        help='only print the tables of --out, every label '
                        "against the mmdet rows of any label")
    parser.add_argument('--child', choices=['eval', 'load', 'dist', 'agree'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--spec', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- children: one measurement each ---------------------------------------

def own_peak_bytes():
    """This process's peak RSS since it started its program (``VmHWM``):
    ``ru_maxrss`` would also count the parent's memory at the fork."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _batches(dets_file, rank=0, world=1, batch=8):
    """mmdet data samples of the detections, ``batch`` images at a time
    (the images of ``rank`` when split over ``world`` processes)."""
    import numpy as np
    import torch
    with np.load(dets_file) as f:
        d = {k: f[k] for k in f.files}
    starts = np.flatnonzero(np.r_[True, d['img_ids'][1:] !=
                                  d['img_ids'][:-1]])
    bounds = np.r_[starts, len(d['img_ids'])]
    images = list(range(len(starts)))[rank::world]
    for k in range(0, len(images), batch):
        samples = []
        for i in images[k:k + batch]:
            lo, hi = bounds[i], bounds[i + 1]
            samples.append(dict(
                img_id=int(d['img_ids'][lo]), ori_shape=(480, 640),
                pred_instances=dict(
                    bboxes=torch.from_numpy(d['bboxes'][lo:hi]),
                    scores=torch.from_numpy(d['scores'][lo:hi]),
                    labels=torch.from_numpy(
                        d['labels'][lo:hi].astype(np.int64)))))
        yield samples


def _metric_cfg(spec):
    kind, backend, format_only = EVAL_ROWS[spec['row']]
    cfg = dict(type=kind, ann_file=spec['ann'], metric='bbox')
    if backend:
        cfg['backend'] = backend
    if format_only:
        cfg.update(format_only=True, outfile_prefix=spec['report'][:-5])
    return cfg


def child_eval(spec):
    import mmdet_efl  # noqa: F401
    from mmdet.registry import METRICS
    start = time.perf_counter()
    metric = METRICS.build(_metric_cfg(spec))
    metric.dataset_meta = dict(classes=spec['classes'])
    built = time.perf_counter()
    for samples in _batches(spec['dets']):
        metric.process({}, samples)
    processed = time.perf_counter()
    out = metric.evaluate(spec['images'])
    end = time.perf_counter()
    return dict(seconds=end - start, build_s=built - start,
                process_s=processed - built, evaluate_s=end - processed,
                AP=out.get('lvis/bbox_AP'), APr=out.get('lvis/bbox_APr'))


def child_load(spec):
    import mmdet_efl  # noqa: F401
    from mmdet.registry import DATASETS
    start = time.perf_counter()
    dataset = DATASETS.build(dict(
        type=spec['dataset'], ann_file=spec['ann'],
        data_root=spec['data_root'], data_prefix=dict(img=''),
        pipeline=[]))
    return dict(seconds=time.perf_counter() - start, loaded=len(dataset))


def child_dist(spec):
    from mmdet.registry import METRICS
    from mmengine.config import Config
    from mmengine.dist import get_dist_info
    from mmengine.evaluator import Evaluator

    from mmdet_efl.engine.dist import setup_cpu_distributed

    # the process group tools/test.py sets up under tools/dist_test.sh
    setup_cpu_distributed(Config(dict(launcher='pytorch')))
    rank, world = get_dist_info()
    start = time.perf_counter()
    metric = METRICS.build(_metric_cfg(spec))
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=spec['classes'])
    for samples in _batches(spec['dets'], rank, world):
        evaluator.process(samples, {})
    out = evaluator.evaluate(spec['images'])
    peak = own_peak_bytes()
    with open(f"{spec['report']}.rank{rank}", 'w') as f:
        json.dump(dict(seconds=time.perf_counter() - start, peak_bytes=peak,
                       AP=out.get('lvis/bbox_AP')), f)


def child_agree(spec):
    """The official lvis-api on the whole file (``LVISResults`` +
    ``LVISEval``, unchunked) against ``evaluate_lvis`` with each backend:
    the largest absolute differences."""
    import numpy as np
    from lvis import LVISEval, LVISResults

    from mmdet_efl.evaluation.functional import (BACKENDS, KEYS,
                                                 LVISDetections,
                                                 evaluate_lvis, load_lvis)
    from mmdet_efl.evaluation.functional.lvis_eval import _per_category
    gt = load_lvis(spec['ann'])
    cat_ids = gt.get_cat_ids()
    preds = [dict(img_id=s['img_id'], **{
        k: v.numpy() for k, v in s['pred_instances'].items()})
        for batch in _batches(spec['dets']) for s in batch]
    dets = LVISDetections.from_mmdet(preds, cat_ids)
    dicts = [dict(image_id=i, category_id=c, bbox=b, score=x)
             for i, c, b, x in zip(dets.image_ids.tolist(),
                                   dets.category_ids.tolist(),
                                   dets.bboxes.tolist(),
                                   dets.scores.tolist())]
    start = time.perf_counter()
    ev = LVISEval(gt, LVISResults(gt, dicts, max_dets=300), 'bbox')
    ev.run()
    official_s = time.perf_counter() - start
    del dicts
    ref = {k: float(ev.results[k]) for k in KEYS}
    ref_cat = _per_category(ev.eval['precision'], ev.params.cat_ids)
    out = dict(official_s=official_s, AP=ref['AP'])
    for backend in BACKENDS:
        got = evaluate_lvis(gt, dets, backend=backend)
        out[f'{backend}_max_abs_summary'] = max(
            abs(got[k] - ref[k]) for k in KEYS)
        out[f'{backend}_max_abs_per_category'] = float(np.nanmax(
            [abs(got['per_category'][c] - a) for c, a in ref_cat.items()]))
    return out


def run_child(args):
    from mmdet_efl.evaluation import patch_lvis_for_numpy2

    # the baselines (mmdet's LVISMetric, the unchunked LVISEval) run the
    # lvis-api itself, which needs the numpy view on numpy >= 1.24
    patch_lvis_for_numpy2()
    spec = json.load(open(args.spec))
    if args.child == 'dist':
        child_dist(spec)
        return
    result = dict(eval=child_eval, load=child_load,
                  agree=child_agree)[args.child](spec)
    result['peak_bytes'] = own_peak_bytes()
    with open(spec['report'], 'w') as f:
        json.dump(result, f)


# -- parent: generate, run children, tabulate ------------------------------

def _rss(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree(pid):
    """``pid`` and its descendants (torchrun's ranks)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            with open(f'/proc/{p}/task/{p}/children') as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def measure(cmd, env, limit_bytes, timeout):
    """Runs ``cmd``; returns wall seconds, the highest RSS of its process
    tree seen by a watchdog every 0.1 s (bytes), and how it ended. The
    watchdog kills it when that RSS passes ``limit_bytes`` or it runs past
    ``timeout``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    state = dict(killed=None, seen=0)

    def watch():
        while proc.poll() is None:
            rss = sum(_rss(p) for p in _tree(proc.pid))
            state['seen'] = max(state['seen'], rss)
            if rss > limit_bytes or time.perf_counter() - start > timeout:
                state['killed'] = (f'killed at {rss / GIB:.1f} GiB'
                                   if rss > limit_bytes else 'timed out')
                for p in reversed(_tree(proc.pid)):
                    try:
                        os.kill(p, 9)
                    except OSError:
                        pass
                return
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    err = proc.stderr.read()
    status = proc.wait()
    watcher.join()
    seconds = time.perf_counter() - start
    peak = state['seen']
    ended = state['killed'] or ('ok' if status == 0 else
                                'failed: ' + err.decode()[-400:].strip())
    return seconds, peak, ended


def generate(args):
    """The val files of each size, their detections, and the train file;
    reused when already there."""
    import numpy as np
    from mmdet_efl.testing.lvis_like import (lvis_like_detections,
                                             touch_images, write_lvis_like)
    os.makedirs(args.work, exist_ok=True)
    files = {}
    sizes = sorted(set(args.sizes) | ({args.dist_images} if 'dist' in
                                      args.rows else set()))
    for size in sizes:
        ann = osp.join(args.work, f'val_{size}_{args.num_categories}.json')
        dets = ann[:-5] + '_dets.npz'
        if not (osp.exists(ann) and osp.exists(dets)):
            data = write_lvis_like(ann, 'val', images=size,
                                   num_categories=args.num_categories)
            np.savez(dets, **lvis_like_detections(data))
        files[size] = (ann, dets)
    if any(r in LOAD_ROWS for r in args.rows):
        ann = osp.join(args.work, f'train_{args.train_images}_'
                       f'{args.num_categories}.json')
        if not osp.exists(ann):
            data = write_lvis_like(ann, 'train', images=args.train_images,
                                   num_categories=args.num_categories)
            touch_images(data, osp.join(args.work, 'images'))
        files['train'] = ann
    return files


def run_rows(args, files):
    import mmdet_efl
    env = dict(os.environ)
    # the children import the package this process generated with, or
    # the checkout named by --pythonpath
    package_root = args.pythonpath or osp.dirname(
        osp.dirname(osp.abspath(mmdet_efl.__file__)))
    env['PYTHONPATH'] = package_root + os.pathsep + env.get('PYTHONPATH', '')
    classes = [f'category_{c:04d}' for c in
               range(1, args.num_categories + 1)]
    limit = args.mem_limit_gib * GIB
    script = osp.abspath(__file__)
    rows = []

    def child(kind, spec, prefix=()):
        spec_file = osp.join(args.work, 'spec.json')
        spec['report'] = osp.join(args.work, 'report.json')
        for stale in [spec['report'], spec['report'][:-5] + '.bbox.json'] + [
                f"{spec['report']}.rank{r}"
                                         for r in (0, 1)]:
            if osp.exists(stale):
                os.remove(stale)
        json.dump(spec, open(spec_file, 'w'))
        cmd = [*prefix, script, '--child', kind, '--spec', spec_file]
        if not prefix:
            cmd = [sys.executable] + cmd
        seconds, peak, ended = measure(cmd, env, limit, args.timeout)
        report = {}
        if kind != 'dist' and osp.exists(spec['report']):
            report = json.load(open(spec['report']))
            # the child's own high-water mark, exact; the watchdog's
            # samples remain for a child that was killed
            peak = max(peak, report.pop('peak_bytes'))
        return dict(wall_s=seconds, peak_gib=peak / GIB, ended=ended,
                    **report)

    for row in args.rows:
        if row in EVAL_ROWS:
            for size in args.sizes:
                if row.endswith('mmdet') and size > args.mmdet_max_images:
                    continue
                ann, dets = files[size]
                rows.append(dict(row=row, images=size, **child('eval', dict(
                    row=row, ann=ann, dets=dets, images=size,
                    classes=classes))))
                print(_line(rows[-1]), flush=True)
        elif row in LOAD_ROWS:
            rows.append(dict(row=row, images=args.train_images,
                             **child('load', dict(
                                 dataset=LOAD_ROWS[row], ann=files['train'],
                                 data_root=osp.join(args.work, 'images')))))
            print(_line(rows[-1]), flush=True)
        elif row == 'agree':
            for size in args.sizes:
                if size > args.mmdet_max_images:
                    continue
                ann, dets = files[size]
                rows.append(dict(row=row, images=size, **child('agree', dict(
                    ann=ann, dets=dets))))
                print(_line(rows[-1]), flush=True)
        else:
            ann, dets = files[args.dist_images]
            spec = dict(row='eval-faster', ann=ann, dets=dets,
                        images=args.dist_images, classes=classes)
            single = child('eval', dict(spec))
            rows.append(dict(row='dist-1proc', images=args.dist_images,
                             **single))
            print(_line(rows[-1]), flush=True)
            result = child('dist', spec, prefix=(
                sys.executable, '-m', 'torch.distributed.run',
                '--nproc_per_node=2', '--master_port=29533'))
            for rank in (0, 1):
                path = f"{spec['report']}.rank{rank}"
                if osp.exists(path):
                    r = json.load(open(path))
                    rows.append(dict(
                        row=f'dist-2proc-rank{rank}',
                        images=args.dist_images, wall_s=result['wall_s'],
                        peak_gib=r['peak_bytes'] / GIB, ended=result['ended'],
                        AP=r['AP']))
                    print(_line(rows[-1]), flush=True)
            if result['ended'] != 'ok':
                rows.append(dict(row='dist-2proc', images=args.dist_images,
                                 **result))
    return rows


def _line(row):
    ap = row.get('AP')
    return (f"{row['row']:<18}{row['images']:>8}{row['wall_s']:>9.1f}"
            f"{row['peak_gib']:>9.2f}  " +
            (f'AP {ap:.4f}  ' if isinstance(ap, float) else '') +
            ''.join(f'{k} {v:.2e}  ' for k, v in row.items()
                    if k.endswith(('_summary', '_per_category'))) +
            row['ended'])


def table(rows):
    """Markdown: time and peak per row and size, ratio to eval-mmdet at the
    same size, and growth per 1,000 images (least squares over the sizes
    that ended ok)."""
    base = {(r['row'][:4], r['images']): r for r in rows
            if r['row'].endswith('mmdet') and r['ended'] == 'ok'}
    lines = ['| row | images | time s | peak GiB | vs mmdet time | '
             'vs mmdet peak | ended |', '|' + ' --- |' * 7]
    for r in rows:
        b = base.get((r['row'][:4], r['images']))
        ratio = (f"{r['wall_s'] / b['wall_s']:.2f}x",
                 f"{r['peak_gib'] / b['peak_gib']:.2f}x") if b and \
            r['ended'] == 'ok' else ('', '')
        lines.append(f"| {r['row']} | {r['images']:,} | {r['wall_s']:.1f} "
                     f"| {r['peak_gib']:.2f} | {ratio[0]} | {ratio[1]} | "
                     f"{r['ended']} |")
    lines.append('')
    for name in dict.fromkeys(r['row'] for r in rows):
        ok = [r for r in rows if r['row'] == name and r['ended'] == 'ok']
        if len(ok) >= 2 and name.startswith(('eval', 'format')):
            import numpy as np
            x = np.array([r['images'] for r in ok]) / 1000
            slope_t = np.polyfit(x, [r['wall_s'] for r in ok], 1)[0]
            slope_m = np.polyfit(x, [r['peak_gib'] for r in ok], 1)[0]
            lines.append(f'{name}: +{slope_t:.1f} s and +{slope_m:.2f} GiB '
                         'per 1,000 images')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return
    saved = json.load(open(args.out)) if osp.exists(args.out) else {}
    if not args.report:
        files = generate(args)
        rows = run_rows(args, files)
        print(table(rows))
        # a later run of a row and size replaces the earlier one
        new = {(r['row'], r['images']) for r in rows}
        label = saved.setdefault(args.label, dict(rows=[], runs=[]))
        label['rows'] = [r for r in label['rows']
                         if (r['row'], r['images']) not in new] + rows
        label['runs'].append(dict(argv=sys.argv[1:], date=time.strftime(
            '%Y-%m-%d %H:%M UTC', time.gmtime())))
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(saved, f, indent=1)
    else:
        mmdet = [r for rows in saved.values() for r in rows['rows']
                 if r['row'].endswith('mmdet')]
        for name, runs in saved.items():
            own = [r for r in runs['rows'] if not r['row'].endswith('mmdet')]
            print(f'## {name}\n' + table(mmdet + own) + '\n')


if __name__ == '__main__':
    main()
