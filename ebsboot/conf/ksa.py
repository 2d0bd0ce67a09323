"""Groups of keystoneauth1 options: how ebsboot reaches another service.

``[glance]``, ``[cinder]`` and ``[keystone]`` each hold keystoneauth1's
loading options, as Nova's groups of those names do: the session (TLS,
``timeout``), the authentication (``auth_type`` and the plugin's options)
and the adapter (``service_type``, ``valid_interfaces``, ``region_name``,
``endpoint_override``, retries); each group with ebsboot's own defaults of
them, and with options of its own before them.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg


class ServiceOptions:
    """The option group of one service that ebsboot calls.

    ``defaults`` are ebsboot's defaults of keystoneauth1's options (by
    option dest); ``opts`` the group's own options.
    """

    def __init__(self, name, title, help, defaults, opts=()):
        self.name = name
        self.title = title
        self.help = help
        self.defaults = defaults
        self.opts = list(opts)

    def _group(self):
        # A group object of its own per ConfigOpts: the options of the
        # auth plugin are registered into it when the plugin is loaded.
        return cfg.OptGroup(self.name, title=self.title, help=self.help)

    def register_opts(self, conf):
        conf.register_group(self._group())
        conf.register_opts(self.opts, group=self.name)
        ks_loading.register_session_conf_options(conf, self.name)
        ks_loading.register_auth_conf_options(conf, self.name)
        ks_loading.register_adapter_conf_options(conf, self.name,
                                                 include_deprecated=False)

    def set_defaults(self, conf):
        """Set ebsboot's defaults of keystoneauth1's options.

        Called by ``ebsboot.conf.set_lib_defaults`` (``ConfigOpts.reset``
        forgets them).
        """
        for name, value in self.defaults.items():
            conf.set_default(name, value, group=self.name)

    def list_opts(self):
        # The auth plugin's options are registered when the plugin is
        # loaded; the sample shows those of the password plugin, the usual
        # choice.
        return {self._group(): self.opts + self._with_defaults(
            ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            ks_loading.get_adapter_conf_options(include_deprecated=False))}

    def _with_defaults(self, opts):
        """Copies of keystoneauth1's options with ebsboot's defaults."""
        result = []
        for opt in opts:
            if opt.dest in self.defaults:
                opt = copy.deepcopy(opt)
                opt.default = self.defaults[opt.dest]
            result.append(opt)
        return result
