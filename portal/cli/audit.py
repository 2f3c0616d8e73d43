"""``portal audit ...``: check the hash-chained audit trail."""

import sys

import click

from portal.cli.support import operator_transaction
from portal.services.audit.trail import ChainHead, chain_head, verify_audit_chain


class _HeadParam(click.ParamType):
    """A head as ``portal audit head`` prints it: ``SEQUENCE:HASH``."""

    name = "SEQUENCE:HASH"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> ChainHead:
        if isinstance(value, ChainHead):
            return value
        try:
            return ChainHead.parse(str(value))
        except ValueError as error:
            self.fail(f"{value!r}: {error}", param, ctx)


@click.group("audit")
def audit_group() -> None:
    """Verify the audit trail and print its head for safekeeping.

    Every audit event carries a sequence number and the hash of the event before it, so an event
    that is edited, removed from the middle or moved is found by `portal audit verify`. Removing
    the LAST events leaves a shorter trail that is intact in itself and cannot be seen from the
    database alone: print the head with `portal audit head` regularly (after each working day,
    for example), keep it outside the server, and pass it to `portal audit verify --expect-head`.
    """


@audit_group.command("verify")
@click.option(
    "--expect-head",
    type=_HeadParam(),
    metavar="SEQUENCE:HASH",
    help="A head printed earlier by `portal audit head` and kept outside the server; fail if "
    "the trail no longer contains it (its last events were removed or rewritten).",
)
def verify(expect_head: ChainHead | None) -> None:
    """Walk the audit trail from its first event and check every link.

    Prints "audit trail intact: N events, head SEQUENCE HASH" and exits 0, or prints one line
    naming the first broken event (sequence, action, object and time as stored, and whether it
    was edited, is missing or is out of order) and exits 1. Without --expect-head a trail whose
    last events were removed still passes: only a head kept elsewhere shows that.
    """
    with operator_transaction() as session:
        result = verify_audit_chain(session, expect_head=expect_head)
    if not result.intact:
        click.echo(
            f"audit trail broken at event {result.first_broken_sequence}: {result.description}",
            err=True,
        )
        sys.exit(1)
    head = "none" if result.head is None else f"{result.head.sequence} {result.head.hash.hex()}"
    click.echo(f"audit trail intact: {result.events_checked} events, head {head}")


@audit_group.command("head")
def head() -> None:
    """Print the last event of the trail as SEQUENCE:HASH, to keep outside the server.

    Removing the last events of the trail cannot be seen from the database alone. Keep this line
    somewhere the server cannot change (printed, in a password manager, in a ticket) and check
    it later with `portal audit verify --expect-head SEQUENCE:HASH`. It reveals nothing about
    the events themselves.
    """
    with operator_transaction() as session:
        current = chain_head(session)
    if current is None:
        raise click.ClickException("the audit trail is empty")
    click.echo(str(current))
