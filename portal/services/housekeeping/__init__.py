"""Clean-up that runs by itself: expired uploads, orphaned partial files, ended sessions,
drained sign-in limits and submissions past their dialogue's retention period.

- ``sweeps``: what is removed, kind by kind, in short batches;
- ``partials``: which ``.partial-`` files in storage are orphaned;
- ``lease``: one clean-up at a time across workers and servers;
- ``purge``: one run and its report (``portal purge`` and the loop);
- ``vacuum``: VACUUM on PostgreSQL after a run;
- ``loop``: the thread each worker of ``portal serve`` runs.
"""
