"""The instance key file (the master key of every secret at rest) reaches the disk before it is used: created,
it is fsynced and so is its folder; rotated, the new file is fsynced before it replaces the old one, and the
folder after."""

from core.keyring import add_local_key, load_or_create_local_keyring
from tests.faults import record_syncs_and_renames


def test_a_new_key_file_and_its_folder_are_synced(tmp_path, monkeypatch):
    path = tmp_path / "instance" / "master.key"
    steps = record_syncs_and_renames(monkeypatch)
    load_or_create_local_keyring(path)
    assert steps == [("fsync", str(path)), ("fsync", str(path.parent))]


def test_a_rotated_key_file_is_synced_before_it_replaces_the_old(tmp_path, monkeypatch):
    path = tmp_path / "master.key"
    load_or_create_local_keyring(path)
    steps = record_syncs_and_renames(monkeypatch)
    assert add_local_key(path) == "local2"
    assert steps == [("fsync", str(path) + ".tmp"), ("replace", str(path)), ("fsync", str(tmp_path))]
    entries = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert [entry.split(":")[0] for entry in entries] == ["local1", "local2"]
