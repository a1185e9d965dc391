"""A few records (id, text, metadata) shared by the LangChain and LlamaIndex retriever tests."""

RECORDS = [
    ("soap", "Soap star on her storyline.\n\nThe actress talks about a late miscarriage storyline in the soap.",
     {"source": "news/soap.txt", "year": 2017, "tags": ["tv", "soap"]}),
    ("film", "Filming scenes in the rain.\n\nThe director filmed every scene twice; the storyline changed.",
     {"source": "news/film.txt", "year": 2012, "tags": ["film"]}),
    ("fox", "The quick brown fox jumps over the lazy dog.",
     {"source": "misc/fox.txt", "year": 1999, "tags": ["animals"]}),
    ("radio", "A radio drama about a miscarriage.\n\nListeners wrote in about the storyline for weeks.",
     {"source": "news/radio.txt", "year": 2020, "tags": ["radio"]}),
    ("garden", "Growing tomatoes in a small garden.\n\nWater them every morning and keep them in the sun.",
     {"source": "misc/garden.txt", "year": 2021, "tags": ["home"]}),
]
