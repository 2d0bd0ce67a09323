"""Request context: who is asking, for which project."""

from oslo_context import context
from oslo_db.sqlalchemy import enginefacade


@enginefacade.transaction_context_provider
class RequestContext(context.RequestContext):
    """Context of one EC2 request or of an internal task.

    ``project_id`` scopes every resource; ``access_key`` names the
    credentials that signed the request.
    """

    def __init__(self, access_key=None, **kwargs):
        super().__init__(**kwargs)
        self.access_key = access_key

    def to_dict(self):
        values = super().to_dict()
        values['access_key'] = self.access_key
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        kwargs.setdefault('access_key', values.get('access_key'))
        return super().from_dict(values, **kwargs)


def get_admin_context():
    """Context for service-internal work that is not scoped to a project."""
    return RequestContext(is_admin=True, overwrite=False)
