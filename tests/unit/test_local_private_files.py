"""The local stack tightens its data files before SQLite opens them, and does not trip on a
-wal or -shm file that SQLite deletes meanwhile (a killed stack's gateway processes close
their connections while the next stack starts)."""

from __future__ import annotations

import os
import stat

from functions.local import stack


def test_a_file_gone_between_listing_and_chmod_is_not_an_error(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    wal = data / "tollway.db-wal"
    wal.write_bytes(b"")
    os.chmod(wal, 0o644)
    real_chmod = os.chmod

    def racing_chmod(path, mode, *args, **kwargs):
        if str(path) == str(wal):
            wal.unlink()  # the last connection of the previous stack closed just now
        return real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(stack.os, "chmod", racing_chmod)

    stack._private_files(data, sqlite=True)

    assert not wal.exists()
    assert stat.S_IMODE((data / "tollway.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
