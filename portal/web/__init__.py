"""What every blueprint shares: the request's instance, its one transaction and the lookups.

Blueprints translate between HTTP and the services. They build no queries and commit nothing
themselves: :mod:`portal.web.instance` hands them the settings, secrets and storage of the
application, :mod:`portal.web.transaction` the request's unit of work, and
:mod:`portal.web.lookups` the "this object, or 404 / 403" answers that several audiences need.
"""
