"""Parley, the secure consultation portal for the EU's human-rights dialogues."""

from portal.app import create_app

__all__ = ["create_app"]
