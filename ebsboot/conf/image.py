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
                    'removed from the image backend afterwards by a '
                    'periodic job of the controller (see '
                    '``maintenance_interval``), or at the next listing of '
                    'images if that comes first; 0 removes it at once.'),
    cfg.IntOpt('maintenance_interval', default=60, min=0,
               help='Seconds between two runs of the controller\'s image '
                    'upkeep: removing deregistered images past '
                    '``deregistered_visible_seconds`` and the tags of '
                    'images deleted from the image backend directly. 0 '
                    'turns it off.'),
    cfg.IntOpt('copy_check_interval', default=2, min=0,
               help='Seconds between two looks of the controller at the '
                    'images being copied (CopyImage): an image becomes '
                    '``available`` (or ``failed``) at the first look after '
                    'its snapshot copies are done. 0 turns it off.'),
]


def register_opts(conf):
    conf.register_group(image_group)
    conf.register_opts(image_opts, group=image_group)


def list_opts():
    return {image_group: image_opts}
