"""Submissions from the public forms and the submitter's inbox, beneath the routes.

- ``payload``: the JSON inside a submission envelope, its validation and the plaintext metadata
  the server keeps;
- ``intake``: where a submission may go and accepting it, sealed by a browser or by the server;
- ``attachments``: files encrypted as they are read (no-JavaScript path);
- ``inbox``: the submitter's own submissions: list, read back, add to, change consent, delete;
- ``owner_tags``: how the submissions of a signed-in codename are found, with no column naming
  their submitter.

Their envelope contexts and recipients are in ``portal.services.contexts``, with every other
context of the product.
"""
