"""The no-JavaScript path of the four public forms, beneath ``portal.blueprints.forms``.

- ``vocabulary``: the readable, translatable names of the choices the forms offer, and the
  messages shown next to a field that the service layer refused;
- ``fields``: which fields each form has, and reading a posted form into the submission payload
  (and each refusal back to the field it concerns);
- ``uploads``: parsing the posted body so that every attached file is encrypted as it is read;
- ``codename_check``: checking that a new codename was written down, without keeping it.
"""
