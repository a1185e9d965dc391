"""Issue 14, item 9: hit.fields and documents() give each stored field its Python type."""
import datetime as dt

from searchlib import DATETIME, ID, NUMERIC, STORED, TEXT, Index, Schema

UTC = dt.timezone.utc


def test_stored_datetime_and_numeric_come_back_typed(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True),
                                              when=DATETIME(), year=NUMERIC(), score=NUMERIC(), raw=STORED()))
    with ix.writer() as w:
        w.add({"id": "a", "body": "alpha", "when": dt.datetime(2024, 5, 1, 12, 30), "year": 2017, "score": 0.5,
               "raw": "2024-05-01"})
        w.add({"id": "b", "body": "alpha", "when": "2020-01-02", "year": "1999", "score": "2.5"})
        w.add({"id": "c", "body": "alpha", "when": dt.date(2021, 3, 4)})
    with ix.searcher() as s:
        hits = {h.id: h.fields for h in s.search("alpha")}
        docs = {d["id"]: d for d in s.documents()}
    for found in (hits, docs):
        assert found["a"]["when"] == dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
        assert found["a"]["year"] == 2017 and isinstance(found["a"]["year"], int)
        assert found["a"]["score"] == 0.5 and found["a"]["raw"] == "2024-05-01"  # STORED: as given
        assert found["b"]["when"] == dt.datetime(2020, 1, 2, tzinfo=UTC)
        assert found["b"]["year"] == 1999 and isinstance(found["b"]["year"], int)
        assert found["b"]["score"] == 2.5
        assert found["c"]["when"] == dt.datetime(2021, 3, 4, tzinfo=UTC) and "year" not in found["c"]
