"""searchlib where users already are: a django-haystack backend and LangChain / LlamaIndex retrievers.

Each integration is its own module and imports its framework only there, so `import searchlib`
never needs Django, langchain-core or llama-index-core:

    searchlib.integrations.haystack     pip install "searchlib[django]"
    searchlib.integrations.langchain    pip install "searchlib[langchain]"
    searchlib.integrations.llamaindex   pip install "searchlib[llamaindex]"

`searchlib.integrations.retrieval` holds what the two retrievers share (no framework imports).
"""
