"""Sources a question names: "according to NICE", "the ATLANTIS trial", "What does the AGA
say?" name documents by their publisher or by the name their title gives a source."""

from __future__ import annotations

import re

from citeline.text import STOPWORDS

# A source a question names: "according to NICE", "the ATLANTIS trial", "What does the AGA say?".
_NAME_TOKEN = re.compile(r"\b([A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*|[A-Z][a-z]{2,})\b")
# A name shared by more than this share of the library's documents names none of them ("IBS").
NAMED_SOURCE_MAX_SHARE = 0.15


def name_tokens(text: str) -> set[str]:
    """Capitalised words and acronyms of a text, lower case ("NICE", "ATLANTIS", "Kroenke")."""
    return {m.lower() for m in _NAME_TOKEN.findall(text) if m.lower() not in STOPWORDS}


# In a title, a name followed by a year or a kind of source names the source ("ACG 2021",
# "the SMILES trial", "BSG and HIS guidelines"); "PHQ-9: a brief measure" names a subject.
_SOURCE_IN_TITLE = re.compile(
    r"\b([A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*|[A-Z][a-z]{2,})(?=(?:[/ ](?:and )?[A-Z][A-Za-z0-9]*)*"
    r"\s+(?:(?:19|20)\d\d\b|(?i:trial|study|guidelines?|report|criteria|cohort|project|survey|"
    r"update|review|consensus|statement|working)\b))"
)


def source_tokens(title: str, publisher: str) -> set[str]:
    """The words a question can name a document's source by: its publisher's capitalised words
    and acronyms, and the names its title gives a source."""
    named = {m.lower() for m in _SOURCE_IN_TITLE.findall(title)}
    return name_tokens(publisher) | {m for m in named if m not in STOPWORDS}


def named_sources(question: str, names: dict[str, frozenset[str]], n_docs: int) -> frozenset[str]:
    """The documents whose publisher or title the question names by a distinctive word (`names`
    maps such a word to the documents using it)."""
    # the question's first word is capitalised by position only
    body = re.sub(r"^\s*\S+", " ", question)
    out: set[str] = set()
    for tok in name_tokens(body):
        docs = names.get(tok, frozenset())
        if docs and len(docs) <= max(1, NAMED_SOURCE_MAX_SHARE * n_docs):
            out |= docs
    return frozenset(out)
