"""The rules of the portal, between the command line or routes and the models.

Each rule lives in exactly one function here; routes and commands only translate between
people and these functions. Services take an open SQLAlchemy session and never commit: the
caller decides where a unit of work ends.
"""
