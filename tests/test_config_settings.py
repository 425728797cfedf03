"""Every config's key hyper-parameters against the papers and, where the
papers are silent, the authors' released configs.

The expectations are derived from the file name (mmdet naming) and from
``SOURCES``, a table written from the papers and the authors' files (never
read back from the configs): anchors, ATSS top-k, EFL's s, gamma_b and
alpha, the prior, warm-up, gradient clipping, lr, schedule, sampler, image
scales, box losses, and the test-time candidates, NMS, detections and score
threshold. ``configs/README.md`` carries the same table with the same
sources. Editing a config away from its source, or adding a config no family
here describes, fails this test.
"""
import inspect
import re
from pathlib import Path

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

import mmdet_efl  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)

FL = 'RetinaNet paper'
EFL = 'EFL paper'
UP_IB = ('United-Perception configs/det/efl/'
         'efl_improved_baseline_r50_2x_rfs.yaml')
UP_OI = 'United-Perception configs/det/efl/efl_oids_r50_2x_random.yaml'
UP_YOLOX = 'United-Perception configs/det/efl/efl_yolox_small.yaml'
DETECTRON = 'Detectron detectron/core/config.py'
MMDET = 'mmdet 3.3 stock config'
JITTER = [640, 672, 704, 736, 768, 800]
# setting: (value, source). Written from the sources, not from the configs;
# configs/README.md lists the same rows.
SOURCES = {
    # RetinaNet paper (COCO)
    'retinanet.lr_16': (0.01, f'{FL} sec. 4.1, Optimization'),
    'retinanet.prior': (0.01, f'{FL} sec. 4.1, Initialization'),
    'retinanet.box_loss': ('SmoothL1Loss', f'{FL} sec. 4.1 "standard smooth '
                           'L1 loss"'),
    'retinanet.smooth_l1_beta': (0.11, f'{DETECTRON} RETINANET.'
                                 'BBOX_REG_BETA'),
    'retinanet.box_loss_weight': (1.0, f'{DETECTRON} RETINANET.'
                                  'BBOX_REG_WEIGHT'),
    'retinanet.relu_before_p7': (True, f'{FL} sec. 4 footnote 2'),
    'retinanet.warmup': (500, f'{MMDET} retinanet_r50_fpn_1x_coco.py '
                         '(Detectron SOLVER.WARM_UP_ITERS 500)'),
    'retinanet.test_score_thr': (0.05, f'{DETECTRON} RETINANET.'
                                 'INFERENCE_TH'),
    'retinanet.test_nms_pre': (1000, f'{DETECTRON} RETINANET.'
                               'PRE_NMS_TOP_N'),
    'retinanet.test_nms': (0.5, 'Detectron retinanet_R-50-FPN_1x.yaml '
                           'TEST.NMS'),
    'retinanet.test_max_per_img': (100, f'{DETECTRON} TEST.'
                                   'DETECTIONS_PER_IM'),
    'retinanet.table2_scales': (JITTER, f'{FL} Table 2 "scale jitter"; '
                                'Detectron e2e_mask_rcnn_X-152-32x8d-FPN-'
                                'IN5k_1.44x.yaml TRAIN.SCALES'),
    'retinanet.table2_epochs': (18, f'{FL} Table 2 "1.5x longer"'),
    # EFL paper, LVIS v1
    'lvis.lr_16': (0.02, f'{EFL} sec. 4.1'),
    'lvis.weight_decay': (1e-4, f'{EFL} sec. 4.1'),
    'lvis.prior': (0.001, f'{EFL} sec. 4.1'),
    'lvis.epochs': (24, f'{EFL} sec. 4.1 "2x"'),
    'lvis.rfs_thr': (1e-3, f'{EFL} sec. 4.1; {UP_IB} sampler t'),
    'lvis.train_scales': (JITTER, f'{EFL} sec. 4.1 "scale jitter"; '
                          f'{UP_IB} train_resize scales'),
    'lvis.test_scale': (800, f'{EFL} sec. 4.1'),
    'lvis.test_score_thr': (0.0, f'{EFL} sec. 4.1'),
    'lvis.test_max_per_img': (300, f'{EFL} sec. 4.1'),
    'lvis.test_nms': (0.5, f'{UP_IB} merger nms_iou_thresh'),
    'lvis.warmup': (1000, f'{EFL} sec. 4.1 "from 1000 to 6000"'),
    'lvis.warmup_stabilised': (6000, f'{EFL} sec. 4.1 "from 1000 to 6000"'),
    'lvis.clip_stabilised': (35, f'{EFL} sec. 4.1'),
    'improved.topk': (18, f'{EFL} sec. 4.1'),
    'improved.anchor_scales': ([6, 8], f'{EFL} sec. 4.1'),
    'improved.giou_weight': (1.0, f'{UP_IB} loc_loss loss_weight'),
    'improved.test_nms_pre': (6000, f'{UP_IB} roi_predictor '
                              'pre_nms_top_n'),
    'atss.giou_weight': (2.0, f'{MMDET} atss_r50_fpn_1x_coco.py (EFL '
                         'Table 1 "ATSS [47]")'),
    'mmdet.test_nms_pre': (1000, f'{MMDET} (no released config)'),
    # EFL Table 9 (COCO), Table 7 (OpenImages)
    'coco.train_scales': (JITTER, f'{EFL} appendix C "consistent with '
                          'those in LVIS"'),
    'oi.train_scale': (800, f'{UP_OI} train_resize scales'),
    'oi.warmup': (500, f'{UP_OI} warmup_epochs 0.004776 of 1.719425 '
                  'epochs = 180k iterations'),
    'oi.iters': (180000, f'{EFL} sec. 4.5'),
    'oi.steps': ([120000, 160000], f'{EFL} sec. 4.5'),
    # EFL Table 8 (YOLOX*)
    'yolox.lr_64': (0.0003125 * 64, f'{UP_YOLOX} optimizer lr'),
    'yolox.min_lr_ratio': (0.05, f'{UP_YOLOX} min_lr_scale'),
    'yolox.stock_lr_64': (0.01, f'{MMDET} yolox_s_8xb8-300e_coco.py'),
    'yolox.s': (4.0, f'{EFL} Table 8 caption'),
    'yolox.topk': (18, f'{EFL} appendix A; {UP_YOLOX} top_n'),
    'yolox.anchor_scales': ([3, 4], f'{UP_YOLOX} anchor_scales'),
    'yolox.anchors_per_location': (2, f'{UP_YOLOX} roi_head num_point'),
    'yolox.prior': (0.001, f'{UP_YOLOX} roi_head init_prior'),
    'yolox.head_stacked_convs': (2, f'{UP_YOLOX} roi_head YoloXHead '
                                 '(YOLOX\'s head)'),
    'yolox.giou_weight': (1.0, f'{UP_YOLOX} loc_loss iou_loss'),
    'yolox.l1_weight_per_coordinate': (1.0 / 4, f'{UP_YOLOX} loc_loss '
                                       'l1_loss (weight 1, mean over 4 N)'),
    'yolox.coder_stds': ([1.0] * 4, 'United-Perception bbox_helper '
                         'bbox2offset weights (1, 1, 1, 1)'),
    'yolox.test_nms': (0.65, f'{UP_YOLOX} merger nms_iou_thresh'),
    'yolox.test_nms_pre': (1000, f'{UP_YOLOX} roi_predictor '
                           'pre_nms_top_n'),
    'yolox.cls_bias_decay': (1e-4, f'{EFL} appendix A (authors\' config: '
                             '5e-4; the paper\'s value is kept)'),
}


def V(key):
    return SOURCES[key][0]


def _get(cfg, dotted):
    node = cfg
    for part in dotted.split('.'):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _scheduler(cfg, kind):
    found = [s for s in cfg.param_scheduler if s['type'] == kind]
    assert len(found) == 1, f'one {kind} expected'
    return found[0]


def _prior(cfg):
    """The classification prior: the config's, else the head's default."""
    head = cfg.model.bbox_head
    init = head.get('init_cfg')
    for cls in MODELS.get(head.type).__mro__:
        if init is not None:
            break
        param = inspect.signature(cls.__init__).parameters.get('init_cfg')
        init = param.default if param is not None else None
    return init['override']['bias_prob']


def _check_schedule(cfg, epochs, steps, warmup, clip, lr):
    assert cfg.train_cfg.max_epochs == epochs
    multi = _scheduler(cfg, 'MultiStepLR')
    assert list(multi['milestones']) == steps and multi['gamma'] == 0.1
    linear = _scheduler(cfg, 'LinearLR')
    assert linear['end'] == warmup and not linear['by_epoch']
    assert linear['start_factor'] == 0.001
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == \
        ('SGD', lr, 0.9, V('lvis.weight_decay'))
    assert cfg.auto_scale_lr.base_batch_size == 16
    clip_cfg = cfg.optim_wrapper.get('clip_grad')
    if clip:
        assert clip_cfg['max_norm'] == V('lvis.clip_stabilised')
        assert clip_cfg['norm_type'] == 2
    else:
        assert not clip_cfg


def _train_scales(pipeline):
    """Short sides the training pipeline resizes to."""
    resize = [t for t in pipeline if 'Resize' in t['type']]
    assert len(resize) == 1
    resize = resize[0]
    if resize['type'] == 'RandomChoiceResize':
        assert all(long == 1333 for long, _ in resize['scales'])
        return [short for _, short in resize['scales']]
    assert resize['type'] == 'Resize' and resize['keep_ratio']
    return [resize['scale'][1]]


def _check_loss(cfg, name):
    loss = cfg.model.bbox_head.loss_cls
    assert loss.get('use_sigmoid') is True
    if '_efl' in name:
        s = re.search(r'efl-s(\d+)', name)
        assert loss.type == 'EqualizedFocalLoss'
        assert (loss.gamma, loss.alpha) == (2.0, 0.25)
        assert loss.scale_factor == (float(s.group(1)) if s else 8.0)
        assert loss.get('use_focusing_factor', True) == ('efl-wf' not in name)
        assert loss.get('use_weighting_factor', True) == ('efl-ff' not in name)
        assert loss.num_classes == cfg.model.bbox_head.num_classes
        assert dict(type='GradientCollectorHook') in cfg.custom_hooks
    elif '_eqlv2-fl' in name:
        assert loss.type == 'EQLv2FocalLoss'
        assert (loss.gamma, loss.alpha, loss.eqlv2_gamma, loss.mu,
                loss.eqlv2_alpha) == (2.0, 0.25, 12.0, 0.8, 4.0)
        assert dict(type='GradientCollectorHook') in cfg.custom_hooks
    elif '_flstar-' in name:
        g, b = re.search(r'flstar-g(\d+)-b(\d+)', name).groups()
        assert loss.type == 'FocalLossStar'
        assert (loss.gamma, loss.beta, loss.alpha) == (float(g), float(b),
                                                       0.25)
    elif '_ce-' in name:
        assert loss.type == 'CrossEntropyLoss'
    else:
        assert loss.type == 'FocalLoss'
        ga = re.search(r'fl-g([\d.]+)-a([\d.]+)', name)
        gamma, alpha = (float(ga.group(1)), float(ga.group(2))) if ga \
            else (2.0, 0.25)
        assert (loss.gamma, loss.alpha) == (gamma, alpha)


def _table5_or_improved(name):
    """The improved baseline and the rows of its ablation (EFL Table 5: EFL
    on ATSS with or without STS, IB, IA), which share its box-loss weight
    and test-time candidates."""
    return name.startswith(('atss-iou', 'atss-sts')) or (
        name.startswith('atss_') and '_efl' in name)


def _check_atss(cfg, name):
    head = cfg.model.bbox_head
    improved = name.startswith('atss-iou')
    iou_branch = improved or 'sts-ib' in name
    two_scales = improved or 'sts-ia' in name
    assert head.type == ('ATSSIoUHead' if iou_branch else 'ATSSHead')
    assert head.get('use_iou_branch', True)
    anchors = head.anchor_generator
    giou = V('improved.giou_weight') if _table5_or_improved(name) \
        else V('atss.giou_weight')
    assert head.loss_bbox == dict(type='GIoULoss', loss_weight=giou)
    nms_pre = V('improved.test_nms_pre') if _table5_or_improved(name) \
        else V('mmdet.test_nms_pre')
    assert cfg.model.test_cfg.nms_pre == nms_pre
    if two_scales:
        assert list(anchors.scales) == V('improved.anchor_scales')
        assert 'octave_base_scale' not in anchors
        assert cfg.model.train_cfg.assigner.topk == V('improved.topk')
    else:
        assert anchors.octave_base_scale == 8
        assert anchors.scales_per_octave == 1
        assert cfg.model.train_cfg.assigner.topk == 9
    assert list(anchors.ratios) == [1.0]
    assert list(anchors.strides) == [8, 16, 32, 64, 128]
    if iou_branch:
        assert head.loss_centerness.type == 'CrossEntropyLoss'
        assert head.loss_centerness.loss_weight == 1.0
    assert head.stacked_convs == 4 and head.feat_channels == 256
    # ATSSHead's own default is GN with 32 groups
    assert head.get('norm_cfg', dict(type='GN'))['type'] == 'GN'


def _check_lvis_test(cfg):
    test = cfg.model.test_cfg
    assert (test.score_thr, test.max_per_img, test.nms.iou_threshold) == \
        (V('lvis.test_score_thr'), V('lvis.test_max_per_img'),
         V('lvis.test_nms'))


def check_lvis(cfg, name):
    head = cfg.model.bbox_head
    assert head.num_classes == 1203
    assert _prior(cfg) == V('lvis.prior')
    data = cfg.train_dataloader.dataset
    assert data.type == 'ClassBalancedDataset'
    assert data.oversample_thr == V('lvis.rfs_thr')
    assert data.dataset.type == 'LVISV1Dataset'
    assert cfg.val_evaluator.type == 'LVISBoxMetric'
    _check_lvis_test(cfg)
    # "all RetinaNet and FCOS* experiments are trained with the stabilized
    # settings" (EFL sec. 4.3); Table 1's ATSS and PAA and Table 5's first
    # row are not
    stabilised = name.startswith(('atss-iou', 'atss-sts', 'retinanet',
                                  'fcos'))
    warmup = V('lvis.warmup_stabilised') if stabilised else V('lvis.warmup')
    _check_schedule(cfg, V('lvis.epochs'), [16, 22], warmup, stabilised,
                    V('lvis.lr_16'))
    _check_loss(cfg, name)
    if name.startswith('atss'):
        _check_atss(cfg, name)
    else:
        assert cfg.model.test_cfg.nms_pre == V('mmdet.test_nms_pre')
    if name.startswith('fcos-cs'):
        assert head.center_sampling is True
    assert _train_scales(data.dataset.pipeline) == V('lvis.train_scales')
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == \
        (1333, V('lvis.test_scale'))


def check_coco_retinanet(cfg, name):
    head = cfg.model.bbox_head
    assert head.num_classes == 80 and _prior(cfg) == V('retinanet.prior')
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'
    test = cfg.model.test_cfg
    assert (test.score_thr, test.max_per_img, test.nms.iou_threshold,
            test.nms_pre) == \
        (V('retinanet.test_score_thr'), V('retinanet.test_max_per_img'),
         V('retinanet.test_nms'), V('retinanet.test_nms_pre'))
    assert head.loss_bbox == dict(
        type=V('retinanet.box_loss'), beta=V('retinanet.smooth_l1_beta'),
        loss_weight=V('retinanet.box_loss_weight'))
    neck = cfg.model.neck
    assert neck.relu_before_extra_convs is V('retinanet.relu_before_p7')
    # P6 by a stride-2 conv on C5, P7 on P6 (RetinaNet sec. 4 footnote 2)
    assert (neck.add_extra_convs, neck.start_level, neck.num_outs) == \
        ('on_input', 1, 5)
    if '1.5x' in name:
        _check_schedule(cfg, V('retinanet.table2_epochs'), [12, 16],
                        V('retinanet.warmup'), False, V('retinanet.lr_16'))
        assert _train_scales(cfg.train_dataloader.dataset.pipeline) == \
            V('retinanet.table2_scales')
    else:
        _check_schedule(cfg, 12, [8, 11], V('retinanet.warmup'), False,
                        V('retinanet.lr_16'))
        size = int(re.search(r'coco-(\d+)', name).group(1))
        longest = 1333 if size == 800 else size * 5 // 3
        assert cfg.train_dataloader.dataset.pipeline[2]['scale'] == (longest,
                                                                     size)
        assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == (longest,
                                                                    size)
    anchors = head.anchor_generator
    sr = re.search(r'retinanet-(\d)s(\d)r', name)
    num_scales, num_ratios = (int(sr.group(1)), int(sr.group(2))) if sr \
        else (3, 3)
    assert anchors.scales_per_octave == num_scales
    assert len(anchors.ratios) == num_ratios and anchors.octave_base_scale == 4
    ohem = re.search(r'ohem(13)?-b(\d+)-nms([\d.]+)', name)
    if ohem:
        assert head.type == 'OHEMRetinaHead'
        assert head.ohem.batch_size == int(ohem.group(2))
        assert head.ohem.nms_iou == float(ohem.group(3))
        assert head.ohem.get('pos_fraction') == (0.25 if ohem.group(1)
                                                 else None)
    else:
        assert head.type == 'RetinaHead'
    _check_loss(cfg, name)


def check_coco_improved(cfg, name):
    # "All other settings are consistent with those in LVIS" (EFL app. C)
    assert cfg.model.bbox_head.num_classes == 80
    assert _prior(cfg) == V('lvis.prior')
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'  # random
    assert _train_scales(cfg.train_dataloader.dataset.pipeline) == \
        V('coco.train_scales')
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == \
        (1333, V('lvis.test_scale'))
    _check_lvis_test(cfg)
    _check_schedule(cfg, V('lvis.epochs'), [16, 22],
                    V('lvis.warmup_stabilised'), True, V('lvis.lr_16'))
    _check_loss(cfg, name)
    _check_atss(cfg, name)


def check_openimages(cfg, name):
    # EFL sec. 4.5: settings as on LVIS, "a schedule of 120k/160k/180k with
    # the random sampler", 500 categories, AP1-AP5 over groups of 100
    two_stage = name.startswith('faster-rcnn')
    head = cfg.model.roi_head.bbox_head if two_stage else cfg.model.bbox_head
    assert head.num_classes == 500
    assert cfg.train_dataloader.dataset.type == 'OpenImagesChallengeDataset'
    metric = cfg.val_evaluator
    assert (metric.type, metric.num_groups, metric.iou_thrs) == \
        ('OpenImagesGroupMetric', 5, 0.5)
    assert metric.count_dataset.ann_file == \
        cfg.train_dataloader.dataset.ann_file
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == V('oi.iters')
    multi = _scheduler(cfg, 'MultiStepLR')
    assert list(multi['milestones']) == V('oi.steps')
    assert not multi['by_epoch']
    assert _scheduler(cfg, 'LinearLR')['end'] == V('oi.warmup')
    assert _train_scales(cfg.train_dataloader.dataset.pipeline) == \
        [V('oi.train_scale')]
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == \
        (1333, V('lvis.test_scale'))
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.weight_decay) == (V('lvis.lr_16'),
                                          V('lvis.weight_decay'))
    assert cfg.optim_wrapper.clip_grad['max_norm'] == \
        V('lvis.clip_stabilised')
    assert cfg.auto_scale_lr.base_batch_size == 16
    test = cfg.model.test_cfg.rcnn if two_stage else cfg.model.test_cfg
    assert (test.score_thr, test.max_per_img) == \
        (V('lvis.test_score_thr'), V('lvis.test_max_per_img'))
    if two_stage:
        return
    assert _prior(cfg) == V('lvis.prior')
    _check_loss(cfg, name)
    if name.startswith('atss'):
        _check_atss(cfg, name)
    else:
        assert head.type == 'RetinaHead'


def check_yolox(cfg, name):
    # EFL appendix A / Table 8: YOLOX-S/M from scratch, 300 epochs, RFS on
    # LVIS v1; YOLOX* = ATSS top-k 18, IoU branch, anchor scales {3, 4},
    # IoU + L1 box losses, cls-bias weight decay 1e-4; s = 4 for EFL/EQFL
    widen, deepen = (0.5, 0.33) if '_s_' in name else (0.75, 0.67)
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.widen_factor, backbone.deepen_factor) \
        == ('CSPDarknet', widen, deepen)
    assert backbone.get('init_cfg') is None  # from scratch
    assert cfg.train_cfg.max_epochs == 300
    data = cfg.train_dataloader.dataset
    assert data.type == 'MultiImageMixDataset'
    assert data.dataset.type == 'ClassBalancedDataset'
    assert data.dataset.oversample_thr == 1e-3
    assert data.dataset.dataset.type == 'LVISV1Dataset'
    assert cfg.val_evaluator.type == 'LVISBoxMetric'
    head = cfg.model.bbox_head
    assert head.num_classes == 1203
    test = cfg.model.test_cfg
    assert (test.score_thr, test.max_per_img) == \
        (V('lvis.test_score_thr'), V('lvis.test_max_per_img'))
    # YOLOX's own NMS for "Sigmoid", the authors' for YOLOX*
    assert test.nms.iou_threshold == V('yolox.test_nms')
    assert cfg.auto_scale_lr.base_batch_size == 64
    lr = cfg.optim_wrapper.optimizer.lr
    cosine = _scheduler(cfg, 'CosineAnnealingLR')
    assert cosine['eta_min'] == pytest.approx(lr * V('yolox.min_lr_ratio'))
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    decay = {id(p): g['weight_decay'] for g in groups.param_groups
             for p in g['params']}
    if name.startswith('yolox_'):  # the original YOLOX ("Sigmoid")
        assert head.type == 'YOLOXHead' and head.loss_cls.use_sigmoid
        assert decay[id(model.bbox_head.multi_level_conv_cls[0].bias)] == 0
        assert lr == V('yolox.stock_lr_64')
        return
    assert lr == pytest.approx(V('yolox.lr_64'))
    # YOLOX's head, the improved baseline's supervisor and predictor
    assert head.type == 'YOLOXIoUHead'
    assert head.prior_prob == V('yolox.prior')
    assert head.stacked_convs == V('yolox.head_stacked_convs')
    assert head.norm_cfg == dict(type='BN', momentum=0.03, eps=0.001)
    assert head.act_cfg == dict(type='Swish')
    assert model.bbox_head.num_base_priors == V('yolox.anchors_per_location')
    assert head.get('use_iou_branch', True)
    assert test.nms_pre == V('yolox.test_nms_pre')
    anchors = head.anchor_generator
    assert list(anchors.scales) == V('yolox.anchor_scales')
    assert list(anchors.strides) == [8, 16, 32]
    assert cfg.model.train_cfg.assigner == dict(type='ATSSAssigner',
                                                topk=V('yolox.topk'))
    assert head.loss_bbox == dict(type='GIoULoss',
                                  loss_weight=V('yolox.giou_weight'))
    assert head.loss_l1 == dict(
        type='L1Loss', loss_weight=V('yolox.l1_weight_per_coordinate'))
    assert list(head.bbox_coder.target_stds) == V('yolox.coder_stds')
    assert list(head.bbox_coder.target_means) == [0.0] * 4
    for level in range(3):
        assert decay[id(model.bbox_head.multi_level_conv_cls[level].bias)] \
            == pytest.approx(V('yolox.cls_bias_decay'))
        assert decay[id(model.bbox_head.multi_level_conv_reg[level].bias)] \
            == 0
        assert decay[id(model.bbox_head.multi_level_conv_iou[level].bias)] \
            == 0
        assert decay[id(
            model.bbox_head.multi_level_conv_cls[level].weight)] == 5e-4
    loss = head.loss_cls
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert 'YOLOXModeSwitchHook' in hooks and 'EMAHook' in hooks
    kind = re.search(r'_pafpn_(e?q?fl)', name).group(1)
    expected = {'fl': 'FocalLoss', 'efl': 'EqualizedFocalLoss',
                'qfl': 'QualityFocalLoss',
                'eqfl': 'EqualizedQualityFocalLoss'}[kind]
    assert loss.type == expected and loss.use_sigmoid
    if kind.startswith('e'):
        assert (loss.scale_factor, loss.gamma) == (V('yolox.s'), 2.0)
        assert f'{kind}-s4' in name
        assert 'GradientCollectorHook' in hooks
    else:
        assert 'GradientCollectorHook' not in hooks
    if kind in ('fl', 'efl'):
        assert (loss.gamma, loss.alpha) == (2.0, 0.25)


# RetinaNet paper: Table 1e's speed/accuracy grid and Table 2 are test-dev
TEST_DEV_ROWS = {
    f'retinanet_r{depth}_fpn_fl-1x_coco-{scale}.py'
    for depth in (50, 101) for scale in (400, 500, 600, 700, 800)
} | {'retinanet_r101_fpn_fl-ms-640-800-1.5x_coco.py'}


def check_test_dev(cfg, name):
    """A test-dev submission config is its row's validation config with
    mmdet's test-dev test loop: test2017 images and the image-info file,
    results formatted to a json file only."""
    base_name = name.replace('_test-dev.py', '.py')
    assert base_name in TEST_DEV_ROWS
    base = Config.fromfile(str(REPO / 'configs/retinanet' / base_name))
    check_coco_retinanet(cfg, base_name)
    data = cfg.test_dataloader.dataset
    assert (data.ann_file, data.data_prefix) == (
        'annotations/image_info_test-dev2017.json', dict(img='test2017/'))
    assert data.test_mode is True
    metric = cfg.test_evaluator
    assert (metric.type, metric.metric, metric.format_only) == \
        ('CocoMetric', 'bbox', True)
    assert metric.ann_file == data.data_root + data.ann_file
    assert metric.outfile_prefix == \
        f'./work_dirs/{name[:-len(".py")]}/test'
    ours, theirs = cfg.to_dict(), base.to_dict()
    for key in ('test_dataloader', 'test_evaluator'):
        ours.pop(key), theirs.pop(key)
    assert ours == theirs
    # the val split stays for validation
    assert cfg.val_dataloader.dataset.ann_file == \
        'annotations/instances_val2017.json'
    assert cfg.test_dataloader.dataset.pipeline == \
        cfg.val_dataloader.dataset.pipeline


def test_every_test_dev_row_has_a_submission_config():
    present = {p.name for p in CONFIGS}
    assert TEST_DEV_ROWS <= present
    assert {n.replace('.py', '_test-dev.py') for n in TEST_DEV_ROWS} <= \
        present


FAMILIES = [
    (r'_test-dev\.py$', check_test_dev),
    (r'^yolox.*_lvis-v1\.py$', check_yolox),
    (r'_openimages-challenge\.py$', check_openimages),
    (r'^(?!yolox).*_lvis-v1\.py$', check_lvis),
    (r'^retinanet.*_coco(-\d+)?\.py$', check_coco_retinanet),
    (r'^atss-iou_.*_coco\.py$', check_coco_improved),
]


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[p.name for p in CONFIGS])
def test_config_matches_paper(path):
    name = path.name
    cfg = Config.fromfile(str(path))
    if cfg.model.backbone.type == 'ResNet':
        assert cfg.model.backbone.depth == (101 if '_r101_' in name else 50)
    checks = [fn for pattern, fn in FAMILIES if re.search(pattern, name)]
    assert len(checks) == 1, f'{name}: no paper family describes it'
    checks[0](cfg, name)


def test_benchmark_configs_differ_only_in_loss_or_classifier_decay():
    """FL and EFL share one recipe (FL is EFL with s = 0, so that its
    gradient ratios are logged); FL's other recipes differ from FL only in
    the classification conv's weight decay: 1e-4 as everywhere else, and
    0.013."""
    demo = REPO / 'projects/LongTailBenchmark/configs'

    def load(name):
        return Config.fromfile(
            str(demo / f'atss-iou_r18_fpn_{name}_synthetic-lvis.py')
        ).to_dict()

    efl, fl = load('efl-demo'), load('fl-demo')
    stock = load('fl-demo-stock-decay')
    decay013 = load('fl-demo-cls-decay-0.013')
    efl_loss = efl['model']['bbox_head'].pop('loss_cls')
    fl_loss = fl['model']['bbox_head'].pop('loss_cls')
    assert efl_loss['type'] == fl_loss['type'] == 'EqualizedFocalLoss'
    assert (efl_loss.pop('scale_factor'), fl_loss.pop('scale_factor')) == \
        (8.0, 0.0)
    assert efl_loss == fl_loss
    assert efl == fl
    assert efl['custom_hooks'] == [dict(type='GradientCollectorHook')]
    cls_key = 'bbox_head.atss_cls'
    base_decay = fl['optim_wrapper']['optimizer']['weight_decay']
    assert base_decay == 1e-4
    recipe = fl['optim_wrapper'].pop('paramwise_cfg')
    assert base_decay * recipe['custom_keys'][cls_key]['decay_mult'] == \
        pytest.approx(fl['cls_weight_decay'])
    assert stock['optim_wrapper'].pop('paramwise_cfg') == dict(
        custom_keys={cls_key: dict(decay_mult=1.0)})
    assert decay013['optim_wrapper'].pop('paramwise_cfg')['custom_keys'][
        cls_key]['decay_mult'] * base_decay == pytest.approx(0.013)
    for other in (stock, decay013):
        assert other['model']['bbox_head'].pop('loss_cls') == dict(
            fl_loss, type='EqualizedFocalLoss', scale_factor=0.0)
        assert other == fl


def _cls_exposure_per_epoch(cfg: dict) -> float:
    """Lambda_cls = sum_t lr_t * lambda_cls of a demo config, in units of
    iterations per epoch, with the warm-up neglected (the same 100
    iterations in every demo config)."""
    opt = cfg['optim_wrapper']
    decay = opt['optimizer']['weight_decay'] * opt['paramwise_cfg'][
        'custom_keys']['bbox_head.atss_cls']['decay_mult']
    step, = [s for s in cfg['param_scheduler'] if s['type'] == 'MultiStepLR']
    epochs = cfg['train_cfg']['max_epochs']
    return decay * opt['optimizer']['lr'] * sum(
        step['gamma']**sum(e >= m for m in step['milestones'])
        for e in range(epochs))


@pytest.mark.parametrize('loss', ['fl', 'efl'])
def test_demo_configs_are_the_benchmark_on_a_shorter_schedule(loss):
    """make demo's 4-epoch configs differ from the benchmark's only in the
    schedule and the classifier decay, which keeps the benchmark's
    classifier weight-decay exposure Lambda_cls within 1%."""
    demo = REPO / 'projects/LongTailBenchmark/configs'
    short, full = (Config.fromfile(str(
        demo / f'atss-iou_r18_fpn_{loss}-{name}_synthetic-lvis.py')).to_dict()
        for name in ('demo-4e', 'demo'))
    assert short['train_cfg']['max_epochs'] == 4
    assert full['train_cfg']['max_epochs'] == 6
    assert _cls_exposure_per_epoch(short) == pytest.approx(
        _cls_exposure_per_epoch(full), rel=0.01)
    for cfg in (short, full):  # blank exactly what is meant to differ
        epochs = cfg.pop('max_epochs')
        assert cfg['train_cfg'].pop('max_epochs') == epochs
        assert cfg['train_cfg'].pop('val_interval') == epochs
        assert cfg['default_hooks']['checkpoint'].pop('interval') == epochs
        step = cfg['param_scheduler'][1]
        assert step.pop('end') == epochs
        step.pop('milestones')
        decay = cfg.pop('cls_weight_decay')
        keys = cfg['optim_wrapper']['paramwise_cfg']['custom_keys']
        assert keys.pop('bbox_head.atss_cls') == dict(decay_mult=decay / 1e-4)
    assert short == full


def test_configs_readme_lists_every_config():
    import os
    readme = (REPO / 'configs/README.md').read_text()
    listed = set(re.findall(r'\]\(([^)]+\.py)\)', readme))
    for rel in listed:
        assert (REPO / 'configs' / rel).is_file(), rel
    present = {os.path.relpath(p, REPO / 'configs') for p in CONFIGS}
    assert present <= listed, sorted(present - listed)
    assert "papers' published results, not ours" in readme


# test-dev submission configs test on another split by design
# (check_test_dev)
ALL_CONFIGS = sorted(p for p in [*(REPO / 'configs').rglob('*.py'),
                                 *(REPO / 'projects').glob('*/configs/*.py')]
                     if '_base_' not in p.parts
                     and not p.name.endswith('_test-dev.py'))


@pytest.mark.parametrize('path', ALL_CONFIGS,
                         ids=[p.name for p in ALL_CONFIGS])
def test_test_loop_is_the_val_loop(path):
    """tools/test.py evaluates exactly what validation does: no stock COCO
    setting left over in the test dataloader or evaluator."""
    cfg = Config.fromfile(str(path))
    assert cfg.test_evaluator == cfg.val_evaluator
    assert cfg.test_dataloader.dataset == cfg.val_dataloader.dataset


def test_readme_lists_every_setting_with_its_source():
    """configs/README.md's provenance table has one row per setting of
    SOURCES, with the same value, and names the same source file or
    section."""
    import ast
    readme = (REPO / 'configs/README.md').read_text()
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r'^\| `([\w.]+)` \| `([^`]+)` \| [^|]+ \| ([^|]+) \|$', readme,
        re.M)}
    assert set(rows) == set(SOURCES)
    for key, (value, source) in SOURCES.items():
        listed = ast.literal_eval(rows[key][0])
        if isinstance(value, (str, bool)):
            assert listed == value and type(listed) is type(value), key
        else:
            assert listed == pytest.approx(value), key
        assert rows[key][1].strip().startswith(source), key
