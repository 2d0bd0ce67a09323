"""Checks of request values that several controllers share.

AWS bounds these values the same way wherever they appear; the database
columns that keep them are sized to match.
"""

from ebsboot import exception

#: Descriptions of snapshots and images.
MAX_DESCRIPTION = 255
#: ClientToken of RunInstances and CreateVolume.
MAX_CLIENT_TOKEN = 64


def check_description(description):
    """Refuse a description longer than ``MAX_DESCRIPTION``."""
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise exception.InvalidParameterValue(
            'The description must be at most %d characters long.'
            % MAX_DESCRIPTION)


def check_client_token(token):
    """Refuse a ClientToken that is not at most 64 ASCII characters."""
    if token and (len(token) > MAX_CLIENT_TOKEN or not token.isascii()):
        raise exception.InvalidParameterValue(
            'ClientToken must be at most %d ASCII characters.'
            % MAX_CLIENT_TOKEN)
