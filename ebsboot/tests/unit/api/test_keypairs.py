"""Key pairs on the wire, fingerprints as EC2 computes them, and the
key of RunInstances."""

import base64
import hashlib
import json
import os
import subprocess
import tempfile

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization

from ebsboot.cloud import keypairs
from ebsboot.compute.drivers.libvirt import configdrive
from ebsboot.db import api as db
from ebsboot.db import models
from ebsboot import exception
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


def _openssl(args, data):
    return subprocess.run(['openssl'] + args, input=data, check=True,
                          capture_output=True).stdout


class FingerprintTest(base.TestCase):
    """Fingerprints against the commands AWS documents for checking them."""

    def test_created_rsa_is_the_sha1_of_the_pkcs8_der(self):
        key, pem = keypairs.generate('rsa')
        self.assertTrue(pem.startswith('-----BEGIN RSA PRIVATE KEY-----'))
        der = _openssl(['pkcs8', '-topk8', '-nocrypt', '-inform', 'PEM',
                        '-outform', 'DER'], pem.encode())
        self.assertEqual(
            ':'.join('%02x' % b for b in hashlib.sha1(der).digest()),
            keypairs.created_fingerprint(key))
        self.assertEqual(59, len(keypairs.created_fingerprint(key)))

    def test_imported_rsa_is_the_md5_of_the_public_der(self):
        key, pem = keypairs.generate('rsa')
        der = _openssl(['pkey', '-pubout', '-outform', 'DER'], pem.encode())
        expected = ':'.join('%02x' % b for b in hashlib.md5(der).digest())
        self.assertEqual(expected,
                         keypairs.imported_fingerprint(key.public_key()))

    def test_ed25519_is_what_ssh_keygen_shows(self):
        key, pem = keypairs.generate('ed25519')
        self.assertTrue(pem.startswith(
            '-----BEGIN OPENSSH PRIVATE KEY-----'))
        public = keypairs.openssh_public_key(key.public_key())
        blob = base64.b64decode(public.split()[1])
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode()
        self.assertEqual(digest, keypairs.created_fingerprint(key))
        self.assertEqual(digest,
                         keypairs.imported_fingerprint(key.public_key()))
        try:
            shown = subprocess.run(
                ['ssh-keygen', '-l', '-E', 'sha256', '-f', '/dev/stdin'],
                input=public.encode(), capture_output=True).stdout
        except FileNotFoundError:
            return
        if shown:
            self.assertIn(b'SHA256:' + digest.rstrip('=').encode(), shown)


class ParseTest(base.TestCase):

    def _public(self, key, encoding, fmt):
        return key.public_key().public_bytes(encoding, fmt)

    def test_formats_ec2_accepts(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        ssh = self._public(key, serialization.Encoding.OpenSSH,
                           serialization.PublicFormat.OpenSSH)
        der = self._public(key, serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
        pem = self._public(key, serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
        body = ssh.split()[1].decode()
        rfc4716 = ('---- BEGIN SSH2 PUBLIC KEY ----\nComment: "a \\\n'
                   'b"\n%s\n---- END SSH2 PUBLIC KEY ----\n' % '\n'.join(
                       body[i:i + 70] for i in range(0, len(body), 70)))
        for material in (ssh + b' me@host', der, pem,
                         base64.b64encode(der), rfc4716.encode()):
            parsed = keypairs.parse_public_key(material)
            self.assertEqual(ssh.decode(),
                             keypairs.openssh_public_key(parsed))

    def test_refused(self):
        small = rsa.generate_private_key(public_exponent=65537,
                                         key_size=1536)
        odd = small.public_key().public_bytes(
            serialization.Encoding.OpenSSH,
            serialization.PublicFormat.OpenSSH)
        for material in (b'nonsense', b'ssh-rsa AAAA', b'\xff\x00', odd,
                         b'---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n'):
            self.assertRaises(exception.InvalidKeyFormat,
                              keypairs.parse_public_key, material)


class KeyPairsWireTest(wire.WireTestCase, base.CloudTestCase):

    def test_create_describe_delete(self):
        created = self.ok('CreateKeyPair', KeyName='k1', TagSpecifications=[
            {'ResourceType': 'key-pair', 'Tags': [{'Key': 'a',
                                                   'Value': 'b'}]}])
        self.assertTrue(created['KeyPairId'].startswith('key-'))
        self.assertEqual([{'Key': 'a', 'Value': 'b'}], created['Tags'])
        key = serialization.load_pem_private_key(
            created['KeyMaterial'].encode(), None)
        self.assertEqual(keypairs.created_fingerprint(key),
                         created['KeyFingerprint'])
        # Never stored: no column holds it.
        with db.main_context_manager.reader.using(
                self.context('alpha')) as session:
            row = session.query(models.KeyPair).one()
        self.assertNotIn('PRIVATE', ' '.join(
            str(getattr(row, c.name)) for c in models.KeyPair.__table__.c))
        ed = self.ok('CreateKeyPair', KeyName='k2', KeyType='ed25519')
        self.assertTrue(ed['KeyMaterial'].startswith(
            '-----BEGIN OPENSSH PRIVATE KEY-----'))
        described = self.ok('DescribeKeyPairs')['KeyPairs']
        self.assertEqual(['k1', 'k2'], [k['KeyName'] for k in described])
        self.assertEqual(['rsa', 'ed25519'],
                         [k['KeyType'] for k in described])
        self.assertEqual(created['KeyFingerprint'],
                         described[0]['KeyFingerprint'])
        self.assertNotIn('PublicKey', described[0])
        self.assertIn('CreateTime', described[0])
        self.assertEqual([{'Key': 'a', 'Value': 'b'}], described[0]['Tags'])
        with_key = self.ok('DescribeKeyPairs', KeyNames=['k1'],
                           IncludePublicKey=True)['KeyPairs'][0]
        self.assertEqual(keypairs.openssh_public_key(key.public_key()) +
                         ' k1\n', with_key['PublicKey'])
        by_id = self.ok('DescribeKeyPairs', KeyPairIds=[ed['KeyPairId']])
        self.assertEqual(['k2'], [k['KeyName'] for k in by_id['KeyPairs']])
        for name, value, expected in (
                ('key-type', 'ed25519', ['k2']),
                ('fingerprint', created['KeyFingerprint'], ['k1']),
                ('key-name', 'k*', ['k1', 'k2']),
                ('key-pair-id', ed['KeyPairId'], ['k2']),
                ('tag:a', 'b', ['k1'])):
            found = self.ok('DescribeKeyPairs', Filters=[
                {'Name': name, 'Values': [value]}])['KeyPairs']
            self.assertEqual(expected, [k['KeyName'] for k in found], name)
        # Another project sees none of them and may use the same names.
        self.assertEqual([], self.ok('DescribeKeyPairs',
                                     project='beta')['KeyPairs'])
        self.error('InvalidKeyPair.NotFound', 'DescribeKeyPairs',
                   project='beta', KeyNames=['k1'])
        self.ok('CreateKeyPair', project='beta', KeyName='k1')
        self.error('InvalidKeyPair.Duplicate', 'CreateKeyPair',
                   KeyName='k1')
        deleted = self.ok('DeleteKeyPair', KeyName='k1')
        self.assertEqual(created['KeyPairId'], deleted['KeyPairId'])
        self.ok('DeleteKeyPair', KeyPairId=ed['KeyPairId'])
        self.assertEqual([], self.ok('DescribeKeyPairs')['KeyPairs'])
        self.assertEqual([], db.tag_rows(self.context('alpha')))
        # A name that names nothing is no error, as in EC2; an id is.
        self.ok('DeleteKeyPair', KeyName='k1')
        self.error('InvalidKeyPair.NotFound', 'DeleteKeyPair',
                   KeyPairId=ed['KeyPairId'])
        self.assertEqual(1, len(self.ok('DescribeKeyPairs',
                                        project='beta')['KeyPairs']))

    def test_bad_requests(self):
        self.error('InvalidParameterValue', 'CreateKeyPair', KeyName='x',
                   KeyType='dsa')
        self.error('UnsupportedOperation', 'CreateKeyPair', KeyName='x',
                   KeyFormat='ppk')
        self.error('InvalidParameterValue', 'CreateKeyPair',
                   KeyName='x' * 256)
        self.error('InvalidParameterValue', 'CreateKeyPair',
                   KeyName='caf\u00e9')
        self.error('InvalidKey.Format', 'ImportKeyPair', KeyName='x',
                   PublicKeyMaterial=b'ssh-rsa nothing')
        self.error('InvalidKeyPair.NotFound', 'DescribeKeyPairs',
                   KeyPairIds=['bogus'])
        self.error('InvalidKeyPair.NotFound', 'DescribeKeyPairs',
                   KeyNames=['missing'])
        self.assertEqual([], self.ok('DescribeKeyPairs')['KeyPairs'])

    def test_import(self):
        key = ed25519.Ed25519PrivateKey.generate()
        ssh = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH,
            serialization.PublicFormat.OpenSSH) + b' someone@somewhere\n'
        imported = self.ok('ImportKeyPair', KeyName='mine',
                           PublicKeyMaterial=ssh)
        self.assertEqual(keypairs.ed25519_fingerprint(key.public_key()),
                         imported['KeyFingerprint'])
        self.assertTrue(imported['KeyPairId'].startswith('key-'))
        self.error('InvalidKeyPair.Duplicate', 'ImportKeyPair',
                   KeyName='mine', PublicKeyMaterial=ssh)
        rsa_key = rsa.generate_private_key(public_exponent=65537,
                                           key_size=2048)
        der = rsa_key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        imported = self.ok('ImportKeyPair', KeyName='rsa',
                           PublicKeyMaterial=der)
        self.assertEqual(':'.join('%02x' % b
                                  for b in hashlib.md5(der).digest()),
                         imported['KeyFingerprint'])

    def test_run_instances_with_a_key(self):
        self.ok('CreateKeyPair', KeyName='login')
        image = self.ebs_image()
        self.error('InvalidKeyPair.NotFound', 'RunInstances', ImageId=image,
                   MinCount=1, MaxCount=1, KeyName='nope')
        self.assertEqual([], self.ok('DescribeInstances')['Reservations'])
        launched = self.ok('RunInstances', ImageId=image, MinCount=1,
                           MaxCount=1, KeyName='login')
        self.assertEqual('login', launched['Instances'][0]['KeyName'])
        instance_id = launched['Instances'][0]['InstanceId']
        found = self.ok('DescribeInstances', Filters=[
            {'Name': 'key-name', 'Values': ['login']}])['Reservations']
        self.assertEqual([instance_id],
                         [i['InstanceId'] for r in found
                          for i in r['Instances']])
        public = self.ok('DescribeKeyPairs', IncludePublicKey=True)[
            'KeyPairs'][0]['PublicKey']
        row = db.instance_list(self.context('alpha'))[0]
        self.assertEqual(public.split()[:2], row.key_data.split())
        # Deleting the pair leaves the instance its key.
        self.ok('DeleteKeyPair', KeyName='login')
        self.assertEqual('login', self.ok('DescribeInstances')[
            'Reservations'][0]['Instances'][0]['KeyName'])

    def ebs_image(self):
        volume = self.ok('CreateVolume', AvailabilityZone='nova', Size=1)
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', VolumeIds=[volume['VolumeId']])['Volumes'][0][
            'State'] == 'available')
        snapshot = self.ok('CreateSnapshot', VolumeId=volume['VolumeId'])
        self.wait_for(lambda: self.ok(
            'DescribeSnapshots', SnapshotIds=[snapshot['SnapshotId']])[
            'Snapshots'][0]['State'] == 'completed')
        mapping = {'DeviceName': '/dev/sda1',
                   'Ebs': {'SnapshotId': snapshot['SnapshotId']}}
        return self.ok('RegisterImage', Name='img',
                       RootDeviceName='/dev/sda1',
                       BlockDeviceMappings=[mapping])['ImageId']


class ConfigDriveTest(base.TestCase):

    def test_public_keys_where_cloud_init_reads_them(self):
        out = tempfile.mkdtemp(dir=self.state)
        path = os.path.join(out, 'drive.iso')
        instance = {'id': 'u', 'ec2_id': 'i-1', 'key_name': 'login',
                    'key_data': 'ssh-ed25519 AAAAC3 x'}
        self.assertTrue(configdrive.wanted(instance))
        self.assertFalse(configdrive.wanted({'id': 'u', 'ec2_id': 'i-1'}))
        configdrive.build(path, instance)
        listing = subprocess.run(
            ['isoinfo', '-R', '-i', path, '-x',
             '/openstack/latest/meta_data.json'],
            capture_output=True, check=True).stdout
        meta = json.loads(listing)
        self.assertEqual({'login': 'ssh-ed25519 AAAAC3 x'},
                         meta['public_keys'])
        self.assertEqual([{'name': 'login', 'type': 'ssh',
                           'data': 'ssh-ed25519 AAAAC3 x'}], meta['keys'])
