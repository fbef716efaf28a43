"""Demo corpus: DDXPlus patients rendered as line-numbered clinical notes with synthetic PHI."""

from cds.corpus.build import CorpusConfig, build_corpus, build_record, read_corpus, spread

__all__ = ["CorpusConfig", "build_corpus", "build_record", "read_corpus", "spread"]
