"""The peer a LangChain user would pick for hybrid retrieval, over Citeline's own index.

`EnsembleRetriever` (langchain-classic: weighted reciprocal-rank fusion, c = 60, equal weights)
over `BM25Retriever` (langchain-community, rank_bm25's BM25Okapi, in memory) and the retriever of
`langchain_chroma.Chroma` on the same Chroma collection, so the same chunks and the same vectors
as Citeline's index. BM25 reads what Citeline's FTS reads for a chunk (title, section, text,
`ingest.embed.embed_text`), tokenised as lowercase words (the default `str.split` would keep case
and punctuation, a handicap no user would keep). The query is embedded by the same loaded model.
The LangChain packages live only in this adapter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from citeline.embeddings import Embedder

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _embeddings(emb: Embedder) -> Any:
    from langchain_core.embeddings import Embeddings

    class SameModel(Embeddings):
        """LangChain's Embeddings interface over the already loaded model."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in v] for v in emb.embed(texts)]

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in emb.embed([text])[0]]

    return SameModel()


# Chroma reads a page of ids with one SQL variable each: 100k at once is "too many SQL
# variables" (SQLite's limit is 32,766), so the collection is read in pages.
GET_PAGE = 5000


def chroma_chunks(collection: Any, page: int = GET_PAGE) -> list[tuple[str, str]]:
    """(chunk id, text BM25 indexes) of every chunk in a Citeline chunk collection."""
    out = []
    for offset in range(0, collection.count(), page):
        res = collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
        for cid, text, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True):
            out.append((cid, f"{meta.get('title', '')}. {meta.get('section', '')}. {text}"))
    return out


class Peer:
    """The LangChain hybrid retriever; `search(q)` returns chunk ids, best first."""

    def __init__(
        self,
        client: Any,
        collection_name: str,
        embedder: Embedder,
        chunks: Sequence[tuple[str, str]],
        k: int,
    ) -> None:
        from langchain_chroma import Chroma
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_core.documents import Document

        docs = [Document(page_content=t, metadata={"chunk_id": c}) for c, t in chunks]
        bm25 = BM25Retriever.from_documents(docs, preprocess_func=words, k=k)
        store = Chroma(
            client=client, collection_name=collection_name, embedding_function=_embeddings(embedder)
        )
        dense = store.as_retriever(search_kwargs={"k": k})
        self.retriever = EnsembleRetriever(
            retrievers=[bm25, dense], weights=[0.5, 0.5], id_key="chunk_id"
        )

    def search(self, query: str) -> list[str]:
        return [d.metadata["chunk_id"] for d in self.retriever.invoke(query)]


def for_index(index: Any, embedder: Embedder, k: int) -> Peer:
    """The peer over a Citeline `Index`'s own Chroma collection (embedded mode)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(index.home / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    name = index.settings.collection
    collection = client.get_collection(name, embedding_function=None)
    return Peer(client, name, embedder, chroma_chunks(collection), k)


def beir_runs(
    index: Any,
    embedder: Embedder,
    queries: Mapping[str, str],
    depth: int,
    to_docs: Callable[[list[tuple[str, float]]], list[str]],
) -> dict[str, list[str]]:
    """Query id -> ranked document ids by the peer (`depth` chunks from each retriever)."""
    peer = for_index(index, embedder, depth)
    return {q: to_docs([(c, 0.0) for c in peer.search(text)]) for q, text in queries.items()}
