"""The manifest's own CRC: a change inside its body that still parses is refused."""
from __future__ import annotations

import json
import re

import pytest

from searchlib import ID, Index, IndexCorruptError, Schema


def test_manifest_body_changed_behind_its_crc_is_refused(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True)))
    with ix.writer() as w:
        for i in range(3):
            w.add({"id": str(i)})
    path = sorted(ix.path.glob("manifest-*.json"))[-1]
    outer = json.loads(path.read_bytes())
    body, count = re.subn(r'"doc_count":3\b', '"doc_count":4', outer["manifest"])
    assert count == 1  # the change is inside the body, and the body still parses
    json.loads(body)
    outer["manifest"] = body  # the recorded crc32 is left as it was
    path.write_text(json.dumps(outer), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="checksum mismatch") as info:
        Index.open(ix.path).doc_count()
    assert info.value.path == str(path)
