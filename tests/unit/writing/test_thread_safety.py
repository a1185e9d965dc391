"""What the README says is safe to share across threads: an Index (writers wait for each other,
enqueue appends) and a Searcher (searches, hits' fields, snippets, explain). 8 threads each."""
import threading

from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, Schema

WORDS = "amber birch cedar dune ember fjord grove heath inlet juniper knoll larch marsh".split()
QUERIES = ["amber", '"birch cedar"', "dune -ember", "gro*", "heath~1", "inlet AND juniper", "year:[3 TO 9]",
           "tag:odd marsh", "title:knoll"]


def build(path):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), tag=KEYWORD(stored=True),
                    year=NUMERIC(stored=True), body=TEXT(stored=True, passages="paragraph"))
    ix = Index.create(path, schema)
    with ix.writer(buffer_chars=5000) as w:
        for i in range(300):
            body = "\n\n".join(" ".join(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(5 + j)) for j in range(3))
            w.add({"id": f"d{i}", "title": WORDS[i % len(WORDS)], "tag": "odd" if i % 2 else "even", "year": i % 12,
                   "body": body})
    return ix


def answers(searcher):
    out = []
    for q in QUERIES:
        res = searcher.search(q, limit=8)
        out.append((q, res.total, [(h.id, h.score, h.fields["title"], h.snippet) for h in res]))
    out.append(("explain", searcher.explain("amber birch", "d3").value))
    return out


def run_threads(target, n=8):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_one_searcher_shared_by_eight_threads_gives_the_single_threaded_answers(tmp_path):
    ix = build(tmp_path / "ix")
    with ix.searcher() as searcher:
        expected = answers(searcher)
        seen = []
        run_threads(lambda i: seen.extend(answers(searcher) for _ in range(5)))
    assert len(seen) == 40 and all(got == expected for got in seen)


def test_one_index_shared_by_eight_threads_writing_and_enqueueing(tmp_path):
    ix = build(tmp_path / "ix")

    def work(i):
        for n in range(5):
            if n % 2:
                ix.enqueue(add={"id": f"t{i}-{n}", "title": "queued"})
            else:
                with ix.writer() as w:  # waits for the other threads' writers
                    w.add({"id": f"t{i}-{n}", "title": "direct"})
            with ix.searcher() as s:
                s.search("amber")

    run_threads(work)
    ix.apply_queue()
    assert ix.doc_count() == 300 + 40
