"""Options of the [image] group."""

from oslo_config import cfg

image_group = cfg.OptGroup('image', title='Image service options')

image_opts = [
    cfg.StrOpt('backend', default='local',
               help='Image backend, a plugin of the '
                    '``ebsboot.image.backends`` namespace.'),
    cfg.IntOpt('deregistered_visible_seconds', default=300, min=0,
               help='How long DescribeImages still shows a deregistered '
                    'image, in state ``deregistered``, as AWS does for a '
                    'short while (waiters poll for it). The image is '
                    'removed from the image backend afterwards, at the '
                    'next listing of images; 0 removes it at once.'),
]


def register_opts(conf):
    conf.register_group(image_group)
    conf.register_opts(image_opts, group=image_group)


def list_opts():
    return {image_group: image_opts}
