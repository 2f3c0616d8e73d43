"""Clean-up the portal does by itself: what interrupted runs and expired data leave behind,
ended sessions, drained sign-in limits and submissions past their dialogue's retention period.

- ``orphans``: ``.partial-`` files an interrupted write left (also swept at start-up);
- ``sweeps``: what the periodic clean-up removes, kind by kind, in short batches;
- ``lease``: one clean-up at a time across workers and servers;
- ``purge``: one run and its report (``portal purge`` and the loop);
- ``vacuum``: VACUUM on PostgreSQL after a run;
- ``loop``: the thread each worker of ``portal serve`` runs.
"""
