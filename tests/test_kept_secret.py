"""Development secrets kept in a file (config.kept_secret): processes starting together all
keep the first writer's secret, the file is its owner's alone, and no draft is left."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from config import kept_secret


def test_callers_starting_together_keep_one_secret(tmp_path: Path) -> None:
    path = tmp_path / ".data" / "a-key"
    ready = threading.Barrier(8)
    kept: list[str] = []

    def start(n: int) -> None:
        ready.wait()
        kept.append(kept_secret(path, lambda: f"secret-{n}"))

    threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kept) == 8 and len(set(kept)) == 1
    assert path.read_text() == kept[0] + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a-key"]  # no draft left behind


def test_a_kept_secret_is_read_not_made_again(tmp_path: Path) -> None:
    path = tmp_path / "a-key"
    first = kept_secret(path, lambda: "one")
    assert kept_secret(path, lambda: "two") == first == "one"
