"""Text analysis: tokenizers, filters, stemmers, stop words and the analyzers built from them."""
from .analyzers import PRESETS, Analyzer, from_spec, get_analyzer
from .filters import (AsciiFoldingFilter, Filter, LengthFilter, LowercaseFilter, PossessiveFilter, StemFilter,
                      StopFilter, TermFilter)
from .stemming import SNOWBALL_LANGUAGES, STEMMERS, get_stemmer
from .stopwords import stopwords
from .tokenizers import KeywordTokenizer, RegexTokenizer, Token, Tokenizer, WhitespaceTokenizer

__all__ = [
    "Analyzer", "AsciiFoldingFilter", "Filter", "KeywordTokenizer", "LengthFilter", "LowercaseFilter", "PRESETS",
    "PossessiveFilter", "RegexTokenizer", "SNOWBALL_LANGUAGES", "STEMMERS", "StemFilter", "StopFilter",
    "TermFilter", "Token", "Tokenizer", "WhitespaceTokenizer", "from_spec", "get_analyzer", "get_stemmer",
    "stopwords",
]
