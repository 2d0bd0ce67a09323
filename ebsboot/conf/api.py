"""Options of the [api] group: the EC2 Query API endpoint."""

from oslo_config import cfg

api_group = cfg.OptGroup('api', title='EC2 API options')

AUTH_LOCAL = 'local'
AUTH_KEYSTONE = 'keystone'

api_opts = [
    cfg.StrOpt('auth_strategy', default=AUTH_LOCAL,
               choices=[
                   (AUTH_LOCAL, 'ebsboot verifies signatures with the '
                                'secret keys of its own credentials table '
                                '(ebsboot-manage credentials); projects '
                                'are free-form names.'),
                   (AUTH_KEYSTONE, 'Keystone verifies every signature '
                                   '(POST /v3/ec2tokens, with the service '
                                   'user of the [keystone] group): the '
                                   "cloud's users sign with their "
                                   'Keystone EC2 credentials, projects '
                                   'are Keystone project ids and roles '
                                   'come from Keystone.'),
               ],
               help='Who verifies the signatures of EC2 requests and says '
                    'which project and roles they act with.'),
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
               help='Largest request body accepted, in bytes. The embedded '
                    'HTTP server reads no more than this of a request '
                    'body: a larger one is answered 413 (an EC2 '
                    'InvalidRequest error) and its connection closed.'),
    # The embedded HTTP server (ebsboot-api, ebsboot-all-in-one). A WSGI
    # container serving ebsboot.wsgi.api:application has its own settings.
    cfg.IntOpt('workers', default=32, min=1,
               help='Threads of the embedded HTTP server that handle '
                    'requests. A request waits for a free one; idle '
                    'connections hold none.'),
    cfg.IntOpt('max_connections', default=500, min=1,
               help='Most client connections the embedded HTTP server holds '
                    'open while they wait for a request (new ones and '
                    'kept-alive ones). Over it, a new connection is '
                    'answered 503 and closed, and a connection that has '
                    'just been answered is closed instead of kept alive. '
                    'Keep it below the open files limit of the process.'),
    cfg.IntOpt('backlog', default=1024, min=1,
               help='Listen backlog: connections the kernel queues before '
                    'the server accepts them (capped by '
                    'net.core.somaxconn).'),
    cfg.FloatOpt('client_timeout', default=10.0, min=0.1,
                 help='Seconds the embedded HTTP server waits for a client '
                      'that is sending a request or reading an answer; a '
                      'request not sent by then is answered 408 and its '
                      'connection closed. This also bounds the TLS '
                      'handshake.'),
    cfg.FloatOpt('keepalive_timeout', default=30.0, min=0.1,
                 help='Seconds a connection may stay idle, before its first '
                      'request or between requests, before the embedded '
                      'HTTP server closes it.'),
    cfg.IntOpt('max_header_size', default=16384, min=1024,
               help='Largest request line plus headers the embedded HTTP '
                    'server reads, in bytes; a longer request line is '
                    'answered 414, larger headers 413.'),
    cfg.StrOpt('ssl_cert_file',
               help='PEM certificate (with its intermediate certificates '
                    'after it) of the embedded HTTP server. With '
                    'ssl_key_file set too, the EC2 API is served over '
                    'HTTPS only.'),
    cfg.StrOpt('ssl_key_file',
               help='PEM private key of ssl_cert_file.'),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts():
    return {api_group: api_opts}
