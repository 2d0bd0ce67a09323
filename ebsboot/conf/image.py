"""Options of the [image] group."""

from oslo_config import cfg

image_group = cfg.OptGroup('image', title='Image service options')

image_opts = [
    cfg.StrOpt('backend', default='local',
               help='Image backend, a plugin of the '
                    '``ebsboot.image.backends`` namespace.'),
]


def register_opts(conf):
    conf.register_group(image_group)
    conf.register_opts(image_opts, group=image_group)


def list_opts():
    return {image_group: image_opts}
