"""Encrypted bundles for offline review: the format, the export and the offline decryption.

A dialogue in offline review keeps no desk-key private half the server can open (see
``portal.services.desks.review_mode``). Its desk reads submissions by exporting a *bundle* (``portal
export`` or the staff page ``/staff/dialogues/<slug>/export``) and decrypting it on an offline
machine with ``portal decrypt`` and either the desk key written at the switch to offline review
or the instance recovery key. Online dialogues can be exported the same way.

The bytes of a bundle and of the folder a decryption writes are specified in docs/FORMATS.md,
"Bundle v1". Three modules, so that the offline side carries nothing it cannot use there:

- ``manifest``: the format itself -- names, writing the manifest, reading and checking it; no
  database;
- ``export``: the bundle of a dialogue from the database and the storage folder, audited;
- ``offline``: ``portal decrypt``, with neither database, Flask application nor instance folder.
"""
