# RetinaNet Table 1e, R-50 at scale 500, on COCO
# test-dev: retinanet_r50_fpn_fl-1x_coco-500.py with the test loop
# writing a submission file (./work_dirs/<this config>/test.bbox.json) for
# the COCO evaluation server.
# As mmdet writes test-dev (the commented block of its
# _base_/datasets/coco_detection.py): test2017 images, the image-info file,
# results only formatted.
_base_ = './retinanet_r50_fpn_fl-1x_coco-500.py'

test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    format_only=True,
    ann_file='data/coco/annotations/image_info_test-dev2017.json',
    outfile_prefix='./work_dirs/{{fileBasenameNoExtension}}/test')
