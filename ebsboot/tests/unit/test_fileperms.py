"""Modes of ebsboot's folders and files."""

import grp
import os
import stat
from unittest import mock

from ebsboot.conf import CONF
from ebsboot import fileperms
from ebsboot.tests.unit import base


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _a_group_of_ours():
    """A group this process may give its folders (its own)."""
    return grp.getgrgid(os.getgid()).gr_name


class FilePermsTest(base.TestCase):

    def test_private_dir_and_missing_parents(self):
        path = os.path.join(self.state, 'a', 'b')
        fileperms.private_dir(path)
        self.assertEqual(0o700, _mode(path))
        self.assertEqual(0o700, _mode(os.path.dirname(path)))

    def test_qemu_dir_with_the_configured_group(self):
        group = _a_group_of_ours()
        self.config.config(qemu_group=group)
        path = os.path.join(self.state, 'q', 'volumes')
        fileperms.qemu_dir(path)
        for folder in (path, os.path.dirname(path)):
            self.assertEqual(0o750, _mode(folder))
            self.assertEqual(grp.getgrnam(group).gr_gid,
                             os.stat(folder).st_gid)

    def test_existing_folders_are_tightened(self):
        path = os.path.join(self.state, 'old')
        os.mkdir(path)
        os.chmod(path, 0o755)
        fileperms.private_dir(path)
        self.assertEqual(0o700, _mode(path))
        os.chmod(path, 0o777)
        self.config.config(qemu_group=_a_group_of_ours())
        fileperms.qemu_dir(path)
        self.assertEqual(0o750, _mode(path))

    def test_a_host_without_qemu_group_keeps_folders_private(self):
        path = os.path.join(self.state, 'noqemu')
        with mock.patch.object(fileperms, 'QEMU_GROUPS',
                               ('no-such-group-ebsboot',)):
            self.assertIsNone(fileperms.qemu_gid())
            fileperms.qemu_dir(path)
        self.assertEqual(0o700, _mode(path))

    def test_the_default_group_is_libvirts(self):
        with mock.patch.object(fileperms.grp, 'getgrnam') as getgrnam:
            getgrnam.side_effect = lambda name: mock.Mock(
                gr_gid={'qemu': 107}[name])
            self.assertEqual(107, fileperms.qemu_gid())
        self.assertEqual(['libvirt-qemu', 'qemu'],
                         [c.args[0] for c in getgrnam.call_args_list])

    def test_an_unknown_configured_group_is_an_error(self):
        self.config.config(qemu_group='no-such-group-ebsboot')
        self.assertRaises(fileperms.QemuGroupError, fileperms.qemu_dir,
                          os.path.join(self.state, 'x'))

    def test_protect_state_tightens_old_files(self):
        old_umask = os.umask(0o022)
        self.addCleanup(os.umask, old_umask)
        log = os.path.join(self.state, 'ebsboot.log')
        self.config.config(log_file=log)
        os.chmod(self.state, 0o755)
        database = CONF.database.connection[len('sqlite:///'):]
        for path in (database, database + '-wal', log,
                     CONF.credentials.key_file):
            with open(path, 'a'):
                pass
            os.chmod(path, 0o644)
        fileperms.protect_state()
        self.assertEqual(0o077, os.umask(0o077))
        self.assertEqual(0o600, _mode(database))
        self.assertEqual(0o600, _mode(database + '-wal'))
        self.assertEqual(0o600, _mode(CONF.credentials.key_file))
        self.assertEqual(0o640, _mode(log))
        self.assertIn(_mode(self.state), (0o700, 0o750))

    def test_sqlite_files(self):
        self.assertEqual(
            ['%s/ebsboot.sqlite%s' % (self.state, s)
             for s in ('', '-wal', '-shm')], fileperms.sqlite_files())
        self.config.config(connection='postgresql://u:p@h/db',
                           group='database')
        self.assertEqual([], fileperms.sqlite_files())
