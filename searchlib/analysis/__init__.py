"""Text analysis: tokenizers, filters, stemmers, stop words and the analyzers built from them."""
from .analyzers import PRESETS, Analyzer, from_spec, get_analyzer
from .cjk import CJKTokenizer
from .registry import ENTRY_POINT_GROUP, UnknownComponentError, register, unregister
from .segmenters import (ChineseTokenizer, JapaneseTokenizer, KoreanTokenizer, MissingPackageError,
                         ThaiTokenizer)
from .filters import (AsciiFoldingFilter, Filter, LengthFilter, LowercaseFilter, PossessiveFilter, StemFilter,
                      StopFilter, TermFilter)
from .stemming import SNOWBALL_LANGUAGES, STEMMERS, get_stemmer
from .stopwords import stopwords
from .tokenizers import KeywordTokenizer, RegexTokenizer, Token, Tokenizer, WhitespaceTokenizer
from .unicode import CaseFoldFilter, NormalizeFilter, UnicodeWordTokenizer

__all__ = [
    "Analyzer", "AsciiFoldingFilter", "CJKTokenizer", "CaseFoldFilter", "ChineseTokenizer", "ENTRY_POINT_GROUP",
    "Filter", "JapaneseTokenizer", "KeywordTokenizer", "KoreanTokenizer", "LengthFilter", "LowercaseFilter",
    "MissingPackageError", "NormalizeFilter", "PRESETS", "PossessiveFilter", "RegexTokenizer", "SNOWBALL_LANGUAGES",
    "STEMMERS", "StemFilter", "StopFilter", "TermFilter", "ThaiTokenizer", "Token", "Tokenizer",
    "UnicodeWordTokenizer", "UnknownComponentError", "WhitespaceTokenizer", "from_spec", "get_analyzer",
    "get_stemmer", "register", "stopwords", "unregister",
]
