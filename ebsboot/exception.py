"""Errors that reach EC2 clients, by their AWS error code.

An ``EC2Error`` carries the code and HTTP status of the AWS fault; the API
layer turns it into the EC2 error XML. Anything else that escapes an action
is an internal error (500, logged, never shown as a traceback).
"""


class EbsbootException(Exception):
    """Base of every ebsboot exception."""


class EC2Error(EbsbootException):
    code = 'InternalError'
    status = 400
    message = 'An error occurred.'

    def __init__(self, message=None, **kwargs):
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        self.msg = message
        super().__init__(message)


def _error(name, code=None, message='%(reason)s', status=400):
    return type(name, (EC2Error,), {'code': code or name,
                                    'message': message,
                                    'status': status})


# Request-level errors
AuthFailure = _error('AuthFailure', status=401,
                     message='AWS was not able to validate the provided '
                             'access credentials')
SignatureDoesNotMatch = _error(
    'SignatureDoesNotMatch', status=403,
    message='The request signature we calculated does not match the '
            'signature you provided. Check your AWS Secret Access Key and '
            'signing method.')
IncompleteSignature = _error('IncompleteSignature', status=400)
InvalidClientTokenId = _error(
    'InvalidClientTokenId', status=401,
    message='The security token included in the request is invalid.')
RequestExpired = _error('RequestExpired', status=400)
MissingAuthenticationToken = _error(
    'MissingAuthenticationToken', status=401,
    message='Request is missing Authentication Token')
InvalidAction = _error('InvalidAction',
                       message='The action %(action)s is not valid for '
                               'this web service.')
MissingAction = _error('MissingAction',
                       message='The request must contain the parameter '
                               'Action.')
InvalidParameterValue = _error('InvalidParameterValue')
InvalidParameterCombination = _error('InvalidParameterCombination')
InvalidParameter = _error('InvalidParameter')
MissingParameter = _error(
    'MissingParameter',
    message='The request must contain the parameter %(param)s')
UnknownParameter = _error(
    'UnknownParameter',
    message='The parameter %(param)s is not recognized')
InvalidFilter = _error('InvalidFilter')
FilterLimitExceeded = _error('FilterLimitExceeded')
InvalidPaginationToken = _error(
    'InvalidPaginationToken',
    message='The token %(token)s is invalid.')
DryRunOperation = _error(
    'DryRunOperation', status=412,
    message='Request would have succeeded, but DryRun flag is set.')
UnauthorizedOperation = _error(
    'UnauthorizedOperation', status=403,
    message='You are not authorized to perform this operation.')
IdempotentParameterMismatch = _error(
    'IdempotentParameterMismatch',
    message='The client token %(token)s was used with different '
            'parameters.')
UnsupportedOperation = _error('UnsupportedOperation')
OperationNotPermitted = _error('OperationNotPermitted')
InvalidRequest = _error('InvalidRequest')
InternalError = _error('InternalError', status=500,
                       message='An internal error has occurred.')
ServiceUnavailable = _error('Unavailable', status=503,
                            message='The service is unavailable. '
                                    'Try again later.')

# Resource errors
InvalidVolumeIDMalformed = _error(
    'InvalidVolumeIDMalformed', code='InvalidVolumeID.Malformed',
    message='Invalid id: "%(id)s" (expecting "vol-...")')
InvalidVolumeNotFound = _error(
    'InvalidVolumeNotFound', code='InvalidVolume.NotFound',
    message="The volume '%(id)s' does not exist.")
InvalidSnapshotIDMalformed = _error(
    'InvalidSnapshotIDMalformed', code='InvalidSnapshotID.Malformed',
    message='Invalid id: "%(id)s" (expecting "snap-...")')
InvalidSnapshotNotFound = _error(
    'InvalidSnapshotNotFound', code='InvalidSnapshot.NotFound',
    message="The snapshot '%(id)s' does not exist.")
InvalidSnapshotInUse = _error(
    'InvalidSnapshotInUse', code='InvalidSnapshot.InUse')
IncorrectState = _error('IncorrectState')
VolumeInUse = _error('VolumeInUse',
                     message='Volume %(id)s is currently attached.')
InvalidZoneNotFound = _error(
    'InvalidZoneNotFound', code='InvalidZone.NotFound',
    message="The zone '%(zone)s' does not exist.")
InvalidRegionNotFound = _error(
    'InvalidRegionNotFound', code='InvalidRegion.NotFound',
    message="The region '%(region)s' does not exist.")
IncorrectModificationState = _error(
    'IncorrectModificationState',
    message='Volume %(id)s cannot be modified in modification state '
            '%(state)s')
InvalidVolumeModificationNotFound = _error(
    'InvalidVolumeModificationNotFound',
    code='InvalidVolumeModification.NotFound',
    message="Modification for volume '%(id)s' does not exist.")
VolumeLimitExceeded = _error('VolumeLimitExceeded')
InvalidBlockDeviceMapping = _error('InvalidBlockDeviceMapping')

# Image errors
InvalidAMIIDMalformed = _error(
    'InvalidAMIIDMalformed', code='InvalidAMIID.Malformed',
    message='Invalid id: "%(id)s" (expecting "ami-...")')
InvalidAMIIDNotFound = _error(
    'InvalidAMIIDNotFound', code='InvalidAMIID.NotFound',
    message="The image id '[%(id)s]' does not exist")
InvalidAMIIDUnavailable = _error(
    'InvalidAMIIDUnavailable', code='InvalidAMIID.Unavailable',
    message="The image id '[%(id)s]' is no longer available")
InvalidAMINameMalformed = _error(
    'InvalidAMINameMalformed', code='InvalidAMIName.Malformed')
InvalidAMINameDuplicate = _error(
    'InvalidAMINameDuplicate', code='InvalidAMIName.Duplicate',
    message='AMI name %(name)s is already in use by AMI %(id)s')
InvalidKernelIdMalformed = _error(
    'InvalidKernelIdMalformed', code='InvalidKernelId.Malformed',
    message='Invalid id: "%(id)s" (expecting "aki-...")')
InvalidRamDiskIdMalformed = _error(
    'InvalidRamDiskIdMalformed', code='InvalidRamDiskId.Malformed',
    message='Invalid id: "%(id)s" (expecting "ari-...")')
# Another project's image that the caller may see but not change.
ImageAuthFailure = _error(
    'ImageAuthFailure', code='AuthFailure',
    message='Not authorized for image:%(id)s')
SnapshotAuthFailure = _error(
    'SnapshotAuthFailure', code='AuthFailure',
    message='Not authorized for snapshot:%(id)s')

MALFORMED = {
    'vol': InvalidVolumeIDMalformed,
    'snap': InvalidSnapshotIDMalformed,
    'ami': InvalidAMIIDMalformed,
}
NOT_FOUND = {
    'vol': InvalidVolumeNotFound,
    'snap': InvalidSnapshotNotFound,
    'ami': InvalidAMIIDNotFound,
}


class VolumeDriverError(EbsbootException):
    """A volume driver could not do what it was asked."""


class UnsafeBackingChain(VolumeDriverError):
    """A qcow2 file whose backing chain leaves the volume store."""


class InvalidDiskImage(EbsbootException):
    """A disk image file that cannot be imported as a snapshot."""


# Instance errors
InvalidInstanceIDMalformed = _error(
    'InvalidInstanceIDMalformed', code='InvalidInstanceID.Malformed',
    message='Invalid id: "%(id)s" (expecting "i-...")')
InvalidInstanceIDNotFound = _error(
    'InvalidInstanceIDNotFound', code='InvalidInstanceID.NotFound',
    message="The instance ID '%(id)s' does not exist")
IncorrectInstanceState = _error('IncorrectInstanceState')
InstanceLimitExceeded = _error('InstanceLimitExceeded')
InvalidInstanceAttributeValue = _error('InvalidInstanceAttributeValue')
InvalidInstanceType = _error('InvalidInstanceType')
InvalidAttachmentNotFound = _error(
    'InvalidAttachmentNotFound', code='InvalidAttachment.NotFound')
MALFORMED['i'] = InvalidInstanceIDMalformed
NOT_FOUND['i'] = InvalidInstanceIDNotFound
InvalidVolumeZoneMismatch = _error(
    'InvalidVolumeZoneMismatch', code='InvalidVolume.ZoneMismatch')

# Tag errors
InvalidID = _error('InvalidID', message="The ID '%(id)s' is not valid")
TagLimitExceeded = _error('TagLimitExceeded')

# Key pair errors
InvalidKeyPairNotFound = _error(
    'InvalidKeyPairNotFound', code='InvalidKeyPair.NotFound',
    message="The key pair '%(name)s' does not exist")
# AWS has no Malformed code of its own for key pair ids.
InvalidKeyPairIDMalformed = _error(
    'InvalidKeyPairIDMalformed', code='InvalidKeyPair.NotFound',
    message="The key pair '%(id)s' does not exist")
InvalidKeyPairDuplicate = _error(
    'InvalidKeyPairDuplicate', code='InvalidKeyPair.Duplicate',
    message="The keypair '%(name)s' already exists.")
InvalidKeyFormat = _error('InvalidKeyFormat', code='InvalidKey.Format')

# VPC errors
InvalidVpcIDMalformed = _error(
    'InvalidVpcIDMalformed', code='InvalidVpcID.Malformed',
    message='Invalid id: "%(id)s" (expecting "vpc-...")')
InvalidVpcIDNotFound = _error(
    'InvalidVpcIDNotFound', code='InvalidVpcID.NotFound',
    message="The vpc ID '%(id)s' does not exist")
InvalidSubnetIDMalformed = _error(
    'InvalidSubnetIDMalformed', code='InvalidSubnetID.Malformed',
    message='Invalid id: "%(id)s" (expecting "subnet-...")')
InvalidSubnetIDNotFound = _error(
    'InvalidSubnetIDNotFound', code='InvalidSubnetID.NotFound',
    message="The subnet ID '%(id)s' does not exist")
InsufficientFreeAddressesInSubnet = _error(
    'InsufficientFreeAddressesInSubnet')
MALFORMED['vpc'] = InvalidVpcIDMalformed
NOT_FOUND['vpc'] = InvalidVpcIDNotFound
MALFORMED['subnet'] = InvalidSubnetIDMalformed
NOT_FOUND['subnet'] = InvalidSubnetIDNotFound
