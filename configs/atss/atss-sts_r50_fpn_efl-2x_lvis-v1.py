# EFL Table 5, "STS": EFL on ATSS with the stabilised settings only.
_base_ = './atss_r50_fpn_efl-2x_lvis-v1.py'

param_scheduler = {{_base_.stabilized_param_scheduler}}
optim_wrapper = {{_base_.stabilized_optim_wrapper}}
