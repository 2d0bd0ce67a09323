"""Options of the [api] group: the EC2 Query API endpoint."""

from oslo_config import cfg

api_group = cfg.OptGroup('api', title='EC2 API options')

api_opts = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the EC2 API listens on.'),
    cfg.PortOpt('port', default=8788,
                help='Port the EC2 API listens on.'),
    cfg.StrOpt('region_name', default='RegionOne',
               help='Region name reported by DescribeRegions and expected '
                    'in Signature Version 4 credential scopes.'),
    cfg.IntOpt('signature_ttl', default=900, min=1,
               help='Seconds a signed request stays valid; older or '
                    'future-dated requests are refused (AWS uses 15 '
                    'minutes).'),
    cfg.IntOpt('max_request_size', default=1048576, min=1024,
               help='Largest request body accepted, in bytes.'),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts():
    return {api_group: api_opts}
