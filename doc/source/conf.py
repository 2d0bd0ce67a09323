# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx configuration of the ebsboot documentation."""

# -- General configuration ---------------------------------------------------

extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'oslo_policy.sphinxext',
    'oslo_policy.sphinxpolicygen',
    'stevedore.sphinxext',
]

# oslo_config.sphinxconfiggen: writes _static/ebsboot.conf.sample at build
# time, included by configuration/sample-config.rst.
config_generator_config_file = '../../etc/ebsboot/ebsboot-config-generator.conf'
sample_config_basename = '_static/ebsboot'

# oslo_policy.sphinxpolicygen: writes _static/ebsboot.policy.yaml.sample,
# included by configuration/sample-policy.rst.
policy_generator_config_file = '../../etc/ebsboot/ebsboot-policy-generator.conf'
sample_policy_basename = '_static/ebsboot'

# openstackdocstheme
openstackdocs_repo_name = 'ebsboot/ebsboot'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_pdf_link = False

source_suffix = '.rst'
master_doc = 'index'

project = 'ebsboot'
copyright = '2026, ebsboot developers'

exclude_patterns = ['_build']

add_function_parentheses = True
add_module_names = True
pygments_style = 'native'

# -- Options for HTML output -------------------------------------------------

html_theme = 'openstackdocs'
