"""Encrypted storage moves in step with the database transaction."""

from pathlib import Path

from portal.storage import EncryptedStorage
from tests.conftest import ConsultationWorld


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_staged_file_appears_under_its_name_only_on_commit(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    storage = EncryptedStorage(world.storage_dir)
    staged = storage.stage(world.session)
    staged.write(b"ciphertext")
    assert _names(world.storage_dir) == [f".partial-{staged.name}"]

    world.session.commit()

    assert _names(world.storage_dir) == [staged.name]
    with storage.open(staged.name) as handle:
        assert handle.read() == b"ciphertext"


def test_a_staged_file_is_removed_on_rollback_or_discard(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    storage = EncryptedStorage(world.storage_dir)
    storage.stage(world.session).write(b"one")
    world.session.rollback()
    assert _names(world.storage_dir) == []

    discarded = storage.stage(world.session)
    storage.discard(world.session, discarded)
    assert _names(world.storage_dir) == []
    world.session.commit()
    assert _names(world.storage_dir) == []


def test_a_file_is_deleted_only_when_the_transaction_commits(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    storage = EncryptedStorage(world.storage_dir)
    staged = storage.stage(world.session)
    world.session.commit()

    storage.delete_on_commit(world.session, staged.name)
    world.session.rollback()
    assert _names(world.storage_dir) == [staged.name]

    storage.delete_on_commit(world.session, staged.name)
    world.session.commit()
    assert _names(world.storage_dir) == []
