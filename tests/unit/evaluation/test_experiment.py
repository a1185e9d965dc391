"""searchlib.experiment and `searchlib eval`: configurations indexed once, runs scored, compared."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchlib.cli import main
from searchlib.errors import ConfigError
from searchlib.evaluation import load_beir, load_trec
from searchlib.experiment import Configuration, documents, parse_configuration, run_experiment

DOCS = [
    ("d1", "Running shoes", "Shoes for runners who run marathons."),
    ("d2", "Cooking", "How to cook rice and beans."),
    ("d3", "Marathon training", "A runner trains for the marathon by running every day."),
    ("d4", "Gardening", "Plant beans in spring."),
]
QUERIES = {"q1": "running a marathon", "q2": "cooking beans", "q3": "unjudged query"}
QRELS = {"q1": {"d3": 2, "d1": 1}, "q2": {"d2": 1}}


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in DOCS), encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES.items()), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, j in QRELS.items() for d, g in j.items()),
        encoding="utf-8")
    return folder


def test_documents_follow_the_schema():
    corpus = [{"_id": "a", "title": "T", "text": "X"}]
    assert documents(corpus, Configuration.single_field().schema) == [{"id": "a", "body": "T\nX"}]
    assert documents(corpus, Configuration.title_body().schema) == [{"id": "a", "title": "T", "body": "X"}]


def test_experiment_scores_and_compares(beir, tmp_path):
    data = load_beir(beir)
    configs = [Configuration.single_field("porter"), Configuration.single_field("k1=0", k1=0.0),
               Configuration.title_body("title^3", title_boost=3.0)]
    exp = run_experiment(data, configs, tmp_path / "ix", trials=200)
    assert [r.name for r in exp.results] == ["porter", "k1=0", "title^3"]
    first = exp.results[0]
    assert set(first.per_query["ndcg@10"]) == {"q1", "q2"}  # judged queries only
    assert first.means["recall@100"] == pytest.approx(1.0)
    assert first.run["q2"][0] == "d2"
    # the same schema is indexed once: two index folders for three configurations
    assert len([p for p in (tmp_path / "ix").iterdir()]) == 2
    c = exp.comparison("k1=0", "ndcg@10")
    assert c.wins + c.losses + c.ties == 2 and 0 < c.p_value <= 1
    assert "baseline" in exp.table() and "| porter |" in exp.table(markdown=True)
    # indexes are reused: the second run builds nothing and scores the same
    again = run_experiment(data, configs[:1], tmp_path / "ix", trials=10)
    assert again.results[0].means == first.means


def test_parse_configuration_and_its_errors(tmp_path):
    c = parse_configuration("name=s,analyzer=snowball-english,k1=0.9,b=0.4")
    assert c.name == "s" and c.options == {"k1": 0.9, "b": 0.4}
    assert parse_configuration("fields=title-body,title_boost=2").schema.fields["title"].boost == 2.0
    with pytest.raises(ConfigError, match="unknown key"):
        parse_configuration("colour=blue")
    with pytest.raises(ConfigError, match="must be a number"):
        parse_configuration("k1=high")
    with pytest.raises(ConfigError, match="fields"):
        parse_configuration("fields=three")


def test_load_trec_reads_sgml_and_tab_topics(tmp_path):
    sgml = tmp_path / "topics.txt"
    sgml.write_text("<top>\n<num> Number: 51\n<title> Topic: Airbus  subsidies\n\n<desc> Description:\nx\n</top>\n"
                    "<top>\n<num> 52\n<title> South African sanctions\n</top>\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("51 0 doc1 1\n51 0 doc2 0\n52 0 doc3 2\n", encoding="utf-8")
    queries, judged = load_trec(sgml, qrels)
    assert queries == {"51": "Airbus subsidies", "52": "South African sanctions"}
    assert judged == {"51": {"doc1": 1, "doc2": 0}, "52": {"doc3": 2}}
    tsv = tmp_path / "topics.tsv"
    tsv.write_text("1\tfirst query\n2\tsecond\n", encoding="utf-8")
    assert load_trec(tsv, qrels)[0] == {"1": "first query", "2": "second"}
    qrels.write_text("51 doc1 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="qrels.txt:1"):
        load_trec(tsv, qrels)


def test_eval_command(beir, tmp_path, capsys):
    assert main(["eval", str(beir), "-c", "analyzer=english", "-c", "name=plain,analyzer=standard",
                 "--per-query", "--index-dir", str(tmp_path / "ix")]) == 0
    out = capsys.readouterr().out
    assert "2 judged queries, 4 documents" in out and "baseline" in out and "plain" in out
    assert "q1" in out and "q2" in out  # the per-query table
    assert main(["eval", str(beir), "--json", "--measures", "ndcg@5,p@1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["measures"] == ["ndcg@5", "p@1"] and data["configurations"][0]["means"]["p@1"] == 1.0
    topics = tmp_path / "t.tsv"
    topics.write_text("q2\tcooking beans\n", encoding="utf-8")
    qrels = tmp_path / "q.txt"
    qrels.write_text("q2 0 d2 1\n", encoding="utf-8")
    assert main(["eval", str(beir), "--topics", str(topics), "--qrels", str(qrels), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["configurations"][0]["means"]["mrr@10"] == 1.0


def test_eval_command_errors(beir, capsys):
    assert main(["eval", str(beir), "--measures", "ndgc@10"]) == 2
    assert "unknown measure 'ndgc@10'" in capsys.readouterr().err
    assert main(["eval", str(beir), "-c", "colour=blue"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main(["eval", str(beir), "--topics", str(beir / "queries.jsonl")]) == 2
    assert "--topics and --qrels go together" in capsys.readouterr().err
    assert main(["eval", str(beir / "missing")]) == 2
