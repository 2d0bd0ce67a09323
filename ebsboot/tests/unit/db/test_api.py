"""Tenancy and compare-and-set in the database API."""

from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base


def _volume(project, ec2_id, status='available', token=None):
    return {'id': ec2_id + '-uuid', 'ec2_id': ec2_id, 'project_id': project,
            'availability_zone': 'nova', 'size': 1, 'volume_type': 'gp2',
            'status': status, 'client_token': token}


class DbApiTest(base.TestCase):

    def test_projects_see_only_their_rows(self):
        alpha, beta = self.context('alpha'), self.context('beta')
        db.volume_create(alpha, _volume('alpha', 'vol-a'))
        db.volume_create(beta, _volume('beta', 'vol-b'))
        self.assertEqual(['vol-a'], [v.ec2_id for v in db.volume_list(alpha)])
        self.assertIsNone(db.volume_get_by_ec2_id(beta, 'vol-a'))
        self.assertRaises(db.ConflictError, db.volume_update, beta,
                          'vol-a-uuid', {'status': 'deleting'})
        self.assertEqual(0, db.volume_destroy(beta, 'vol-a-uuid'))
        admin = ebs_context.get_admin_context()
        self.assertEqual(2, len(db.volume_list(admin)))

    def test_compare_and_set(self):
        ctxt = self.context()
        db.volume_create(ctxt, _volume('alpha', 'vol-a'))
        db.volume_update(ctxt, 'vol-a-uuid', {'status': 'deleting'},
                         expected_status=('available', 'error'))
        self.assertRaises(db.ConflictError, db.volume_update, ctxt,
                          'vol-a-uuid', {'status': 'deleting'},
                          expected_status='available')
        db.volume_update(ctxt, 'vol-a-uuid', {'host': 'h1'},
                         expected={'host': None})
        self.assertRaises(db.ConflictError, db.volume_update, ctxt,
                          'vol-a-uuid', {'host': 'h2'},
                          expected={'host': None})
        self.assertEqual('h1', db.volume_get(ctxt, 'vol-a-uuid').host)

    def test_client_token_unique_per_project(self):
        db.volume_create(self.context('alpha'),
                         _volume('alpha', 'vol-a', token='t'))
        self.assertRaises(db.DuplicateError, db.volume_create,
                          self.context('alpha'),
                          _volume('alpha', 'vol-c', token='t'))
        db.volume_create(self.context('beta'),
                         _volume('beta', 'vol-b', token='t'))

    def test_credentials(self):
        admin = ebs_context.get_admin_context()
        db.credential_create(admin, 'AK1', 'secret', 'alpha')
        self.assertRaises(db.DuplicateError, db.credential_create, admin,
                          'AK1', 'other', 'beta')
        self.assertEqual('secret', db.credential_get(admin, 'AK1').secret_key)
        self.assertEqual(1, db.credential_delete(admin, 'AK1'))
        self.assertIsNone(db.credential_get(admin, 'AK1'))
