"""Blueprints by audience: the public, submitters, staff and administrators.

Each audience gets its own URL space and its own module so that the access rules of one can be
read, and tested, without the others.
"""
