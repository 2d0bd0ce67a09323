"""Key pairs through boto3 and the AWS CLI against a running all-in-one.

Fingerprints are checked with the commands AWS documents for checking
them (openssl on the private key).
"""

import os
import subprocess

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances


def _openssl_fingerprint(pem, created):
    if created:
        der = subprocess.run(
            ['openssl', 'pkcs8', '-topk8', '-nocrypt', '-inform', 'PEM',
             '-outform', 'DER'], input=pem.encode(), check=True,
            capture_output=True).stdout
        digest = 'sha1'
    else:
        der = subprocess.run(['openssl', 'pkey', '-pubout', '-outform', 'DER'],
                             input=pem.encode(), check=True,
                             capture_output=True).stdout
        digest = 'md5'
    out = subprocess.run(['openssl', digest, '-c'], input=der, check=True,
                         capture_output=True).stdout.decode()
    return out.split('= ')[-1].strip()


class KeyPairsTest(base.FunctionalTestCase, test_instances.EbsTestMixin):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def test_key_pairs_with_boto3_and_the_cli(self):
        ec2 = self.ec2
        created = ec2.create_key_pair(KeyName='web')
        self.assertEqual(_openssl_fingerprint(created['KeyMaterial'], True),
                         created['KeyFingerprint'])
        _, ed = self.cloud.aws('create-key-pair', '--key-name', 'ed',
                               '--key-type', 'ed25519')
        self.assertIn('OPENSSH PRIVATE KEY', ed['KeyMaterial'])
        # ssh-keygen derives the public key and the fingerprint EC2 gives.
        key_file = os.path.join(self.cloud.state, 'ed.pem')
        with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600),
                  'w') as f:
            f.write(ed['KeyMaterial'])
        shown = subprocess.run(['ssh-keygen', '-l', '-E', 'sha256', '-f',
                                key_file], capture_output=True, text=True,
                               check=True).stdout
        self.assertIn('SHA256:' + ed['KeyFingerprint'].rstrip('='), shown)
        public = subprocess.run(['ssh-keygen', '-y', '-f', key_file],
                                capture_output=True, text=True,
                                check=True).stdout
        # Importing a public key: the MD5 of its DER for RSA.
        rsa_file = os.path.join(self.cloud.state, 'mine')
        subprocess.run(['ssh-keygen', '-q', '-t', 'rsa', '-b', '2048', '-N',
                        '', '-m', 'PEM', '-f', rsa_file], check=True)
        _, imported = self.cloud.aws(
            'import-key-pair', '--key-name', 'mine',
            '--public-key-material', 'fileb://%s.pub' % rsa_file)
        with open(rsa_file) as f:
            self.assertEqual(_openssl_fingerprint(f.read(), False),
                             imported['KeyFingerprint'])
        code, err = self.cloud.aws(
            'import-key-pair', '--key-name', 'mine',
            '--public-key-material', 'fileb://%s.pub' % rsa_file,
            check=False)
        self.assertIn('InvalidKeyPair.Duplicate', err)

        described = ec2.describe_key_pairs(IncludePublicKey=True)['KeyPairs']
        self.assertEqual(['ed', 'mine', 'web'],
                         [k['KeyName'] for k in described])
        self.assertEqual(public.split()[:2],
                         described[0]['PublicKey'].split()[:2])
        _, by_filter = self.cloud.aws(
            'describe-key-pairs', '--filters', 'Name=key-type,Values=ed25519',
            '--query', 'KeyPairs[].KeyPairId')
        self.assertEqual([ed['KeyPairId']], by_filter)
        self.assertEC2Error('InvalidKeyPair.NotFound', ec2.describe_key_pairs,
                            KeyNames=['nope'])

        # RunInstances takes the key; the instance keeps its name.
        image_id, _snapshot = self._image(ec2)
        self.assertEC2Error('InvalidKeyPair.NotFound', ec2.run_instances,
                            ImageId=image_id, MinCount=1, MaxCount=1,
                            KeyName='nope')
        _, launched = self.cloud.aws('run-instances', '--image-id', image_id,
                                     '--key-name', 'ed')
        instance_id = launched['Instances'][0]['InstanceId']
        self.assertEqual('ed', launched['Instances'][0]['KeyName'])
        self.wait_state(ec2, instance_id, 'running')
        self.cloud.aws('delete-key-pair', '--key-name', 'ed')
        [reservation] = ec2.describe_instances(Filters=[
            {'Name': 'key-name', 'Values': ['ed']}])['Reservations']
        self.assertEqual('ed', reservation['Instances'][0]['KeyName'])
        ec2.delete_key_pair(KeyPairId=imported['KeyPairId'])
        self.assertEqual(['web'], [k['KeyName'] for k in
                                   ec2.describe_key_pairs()['KeyPairs']])
        ec2.terminate_instances(InstanceIds=[instance_id])
