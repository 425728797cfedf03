"""YOLOX's head with the improved baseline's supervisor and predictor: the
head of YOLOX* (EFL appendix A, Table 8)."""
import math
from typing import List, Sequence, Tuple

from mmcv.cnn import ConvModule
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType
from mmengine.model import bias_init_with_prob
from torch import Tensor, nn

from .atss_iou_head import ATSSIoUHead


@MODELS.register_module()
class YOLOXIoUHead(ATSSIoUHead):
    """YOLOX's decoupled head, trained and decoded as the improved baseline.

    The layers are those of mmdet's ``YOLOXHead``: for every FPN level its
    own classification and regression branches of ``stacked_convs`` 3x3
    conv-BN-SiLU, then 1x1 output convs for the classes, the box and
    YOLOX's objectness, which here is the IoU branch. (The 1x1 stem of the
    original YOLOX head is ``YOLOXPAFPN``'s ``out_convs`` in mmdet.) The
    output convs are sized for the anchors per location of
    ``anchor_generator`` (two in the authors' YOLOX*, ``num_point: 2``,
    United-Perception ``configs/det/efl/efl_yolox_small.yaml``), in mmdet's
    anchor-major channel layout (channel ``a * C + c``).

    Everything else is :class:`ATSSIoUHead`'s, as the authors replace
    YOLOX's supervisor and predictor with the improved baseline's: ATSS
    assignment on anchors, the IoU output trained against the IoU of each
    positive's decoded box, the IoU-weighted box loss, an optional L1 loss,
    and test-time candidates ranked by ``cls x IoU``.

    Args:
        norm_cfg: YOLOX's BN (momentum 0.03, eps 0.001).
        act_cfg: YOLOX's SiLU (mmcv's ``Swish``).
        prior_prob: initial probability of the classification and the IoU
            outputs (their biases): 0.001 as the authors' ``init_prior``.
        conv_bias: bias of the branch convs, ``'auto'`` (none before a
            norm) as in ``YOLOXHead``.
        init_cfg: ``YOLOXHead``'s Kaiming-uniform init of every conv.
        Other arguments are :class:`ATSSIoUHead`'s; ``pred_kernel_size`` is
        not used (the output convs are 1x1).

    Shapes: ``forward`` takes one (N, in_channels, H_i, W_i) map per level
    and returns, per level, class logits (N, A * C, H_i, W_i), box deltas
    (N, A * 4, H_i, W_i) and IoU logits (N, A, H_i, W_i).

    Raises:
        ValueError: as :class:`ATSSIoUHead`, for ``quality_cls_target``
            settings that do not fit ``loss_cls``.
    """

    def __init__(self,
                 *args,
                 stacked_convs: int = 2,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='Swish'),
                 prior_prob: float = 0.001,
                 conv_bias='auto',
                 init_cfg: OptConfigType = dict(
                     type='Kaiming',
                     layer='Conv2d',
                     a=math.sqrt(5),
                     distribution='uniform',
                     mode='fan_in',
                     nonlinearity='leaky_relu'),
                 **kwargs) -> None:
        # read by _init_layers, which ATSSHead's constructor calls
        self.act_cfg = act_cfg
        self.conv_bias = conv_bias
        self.prior_prob = prior_prob
        super().__init__(
            *args,
            stacked_convs=stacked_convs,
            norm_cfg=norm_cfg,
            init_cfg=init_cfg,
            **kwargs)

    def _branch(self) -> nn.Sequential:
        return nn.Sequential(*[
            ConvModule(
                self.in_channels if i == 0 else self.feat_channels,
                self.feat_channels,
                3,
                padding=1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
                bias=self.conv_bias) for i in range(self.stacked_convs)
        ])

    def _init_layers(self) -> None:
        num_levels = self.prior_generator.num_levels
        anchors = self.num_base_priors
        self.multi_level_cls_convs = nn.ModuleList(
            self._branch() for _ in range(num_levels))
        self.multi_level_reg_convs = nn.ModuleList(
            self._branch() for _ in range(num_levels))
        self.multi_level_conv_cls = nn.ModuleList(
            nn.Conv2d(self.feat_channels, anchors * self.cls_out_channels, 1)
            for _ in range(num_levels))
        self.multi_level_conv_reg = nn.ModuleList(
            nn.Conv2d(self.feat_channels, anchors * 4, 1)
            for _ in range(num_levels))
        self.multi_level_conv_iou = nn.ModuleList(
            nn.Conv2d(self.feat_channels, anchors, 1)
            for _ in range(num_levels))

    def init_weights(self) -> None:
        super().init_weights()
        bias = bias_init_with_prob(self.prior_prob)
        for conv in (*self.multi_level_conv_cls, *self.multi_level_conv_iou):
            nn.init.constant_(conv.bias, bias)

    def forward(self, x: Sequence[Tensor]) -> Tuple[List[Tensor], ...]:
        """Per-level class logits, box deltas and IoU logits (see the class
        docstring for shapes)."""
        return multi_apply(self._forward_level, x,
                           self.multi_level_cls_convs,
                           self.multi_level_reg_convs,
                           self.multi_level_conv_cls,
                           self.multi_level_conv_reg,
                           self.multi_level_conv_iou)

    @staticmethod
    def _forward_level(x: Tensor, cls_convs: nn.Module, reg_convs: nn.Module,
                       conv_cls: nn.Module, conv_reg: nn.Module,
                       conv_iou: nn.Module) -> Tuple[Tensor, Tensor, Tensor]:
        cls_feat = cls_convs(x)
        reg_feat = reg_convs(x)
        return conv_cls(cls_feat), conv_reg(reg_feat).float(), conv_iou(
            reg_feat)
