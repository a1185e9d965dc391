"""A LangChain retriever (and the same with LlamaIndex) on a searchlib index, in a few lines.

    pip install "searchlib[langchain]"        # or "searchlib[llamaindex]"
    python examples/retriever.py "late miscarriage storyline"

The first run indexes the bundled corpus (examples/corpus, one Document per file, split into
paragraph passages) into indexes/retriever; later runs open that index at once.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's searchlib, installed or not

from langchain_core.documents import Document  # noqa: E402

from searchlib import Index  # noqa: E402
from searchlib.integrations.langchain import SearchlibRetriever  # noqa: E402

path = HERE.parent / "indexes" / "retriever"
query = " ".join(sys.argv[1:]) or "late miscarriage storyline"

if Index.exists(path):
    retriever = SearchlibRetriever(path=path, k=3)
else:
    docs = [Document(page_content=f.read_text(encoding="utf-8"), id=f.stem, metadata={"source": f.name})
            for f in sorted((HERE / "corpus").glob("*.txt"))]
    retriever = SearchlibRetriever.from_documents(docs, path=path, passages="paragraph", k=3)

for doc in retriever.invoke(query):                     # the best passages, best first
    m = doc.metadata
    print(f"{m['score']:.3f}  {m['source']} [{m['start']}:{m['end']}]  {m['snippet']}")

# LlamaIndex, the same index:
#   from searchlib.integrations.llamaindex import SearchlibRetriever
#   SearchlibRetriever.from_defaults(path=path, similarity_top_k=3).retrieve(query)   # [NodeWithScore]
