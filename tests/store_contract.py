"""The contract every store passes (the embedded and the server index, and the in-memory fake),
after haystack's `DocumentStoreBaseTests`: a subclass gives the `store` fixture, an empty
writable store, and inherits every test. Small data: a few chunks with HashEmbedder vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from citeline.store import DocumentWrite, Filters, codec
from citeline.types import Chunk, DocMeta
from tests.fakes import HashEmbedder

EMB = HashEmbedder()

LIBRARY = {
    "kale": (
        DocMeta("kale", "Kale", publisher="Greens Society", year=2021, type="Guideline"),
        [
            ("Benefits", ["Kale is a leafy vegetable.", "It is rich in vitamin K."]),
            ("Cooking", ["Cooks steam kale lightly."]),
        ],
    ),
    "statin": (
        DocMeta("statin", "Statins", publisher="Heart Society", year=2018, type="Research"),
        [("Effects", ["Statins lower cholesterol.", "Muscle pain is a side effect."])],
    ),
}


def document(meta: DocMeta, sections: list[tuple[str, list[str]]], tag: str = "") -> DocumentWrite:
    """A document's write with HashEmbedder vectors (chunk ids carry `tag`: a new version)."""
    chunks = [
        Chunk(
            id=f"{meta.doc_id}{tag}-{i}",
            doc=meta,
            text=" ".join(sents),
            section=section,
            page=i + 1,
            ordinal=i,
            sentences=tuple(sents),
        )
        for i, (section, sents) in enumerate(sections)
    ]
    vectors = {c.id: EMB.embed([c.text])[0] for c in chunks}
    sentences = {c.id: codec.encode(EMB.embed(list(c.sentences))) for c in chunks}
    return DocumentWrite(meta, f"hash-{meta.doc_id}{tag}", chunks, vectors, sentences)


def library(tag: str = "") -> list[DocumentWrite]:
    return [document(meta, sections, tag) for meta, sections in LIBRARY.values()]


def write(store: Any, items: list[DocumentWrite]) -> None:
    with store.writer():
        store.replace_documents(items)


class StoreContract:
    """Inherit and give `store`."""

    @pytest.fixture
    def store(self) -> Any:
        raise NotImplementedError

    def test_store_empty_holds_nothing(self, store: Any) -> None:
        assert store.documents() == {}
        stats = store.stats()
        assert (stats["documents"], stats["chunks"]) == (0, 0)
        assert store.lexical_search("kale", 5) == []
        assert store.dense_search(EMB.embed(["kale"])[0], 5) == []
        assert store.facets()["types"] == []
        audit = store.audit()
        assert audit.rows == () and audit.lexical == () and audit.dense == frozenset()

    def test_store_reads_back_what_was_written(self, store: Any) -> None:
        items = library()
        write(store, items)
        docs = store.documents()
        assert set(docs) == {"kale", "statin"}
        assert docs["kale"].meta == LIBRARY["kale"][0]
        assert docs["kale"].content_hash == "hash-kale"
        assert docs["kale"].n_chunks == 2 and docs["kale"].sections == ("Benefits", "Cooking")
        written = {c.id: (c, item.sentence_vectors[c.id]) for item in items for c in item.chunks}
        got = store.get_chunks([*written, "no-such-chunk"])
        assert set(got) == set(written)
        for cid, (chunk, vecs) in got.items():
            assert chunk == written[cid][0]
            expected = codec.decode(written[cid][1], rows=len(chunk.sentences))
            assert vecs.shape == expected.shape and np.allclose(vecs, expected, atol=1e-6)
        assert set(store.doc_chunk_ids("kale")) == {"kale-0", "kale-1"}
        stats = store.stats()
        assert (stats["documents"], stats["chunks"]) == (2, 3)

    def test_store_layers_agree_after_writes(self, store: Any) -> None:
        write(store, library())
        write(store, [document(*LIBRARY["kale"], tag="v2")])
        audit = store.audit()
        assert sorted(audit.chunk_ids) == sorted(audit.lexical) == sorted(audit.dense)
        assert set(audit.chunk_ids) == {"kalev2-0", "kalev2-1", "statin-0"}, "old ids gone"

    def test_store_dense_search_ranks_the_closest_chunk_first(self, store: Any) -> None:
        write(store, library())
        hits = store.dense_search(EMB.embed(["Statins lower cholesterol. Muscle pain"])[0], 3)
        assert hits[0][0] == "statin-0" and hits[0][1] > hits[-1][1]
        assert len(store.dense_search(EMB.embed(["kale"])[0], 2)) == 2

    def test_store_lexical_search_finds_the_term(self, store: Any) -> None:
        write(store, library())
        hits = store.lexical_search("cholesterol", 5)
        assert [c for c, _ in hits] == ["statin-0"] and hits[0][1] > 0
        assert {c for c, _ in store.lexical_search("kale steamed", 5)} == {"kale-0", "kale-1"}
        assert store.unknown_terms(["kale", "zebra", "cholesterol"]) == ["zebra"]

    def test_store_filters_apply_to_both_searches(self, store: Any) -> None:
        write(store, library())
        vec = EMB.embed(["kale vegetable cholesterol"])[0]
        for filters, docs in [
            (Filters(types=("Research",)), {"statin"}),
            (Filters(publishers=("Greens Society",)), {"kale"}),
            (Filters(year_min=2020), {"kale"}),
            (Filters(year_max=2019), {"statin"}),
            (Filters(doc_ids=("statin",)), {"statin"}),
        ]:
            dense = {c.split("-")[0] for c, _ in store.dense_search(vec, 5, filters)}
            lexical = {
                c.split("-")[0] for c, _ in store.lexical_search("kale cholesterol", 5, filters)
            }
            assert dense == docs and lexical == docs, filters

    def test_store_best_sentences_ranks_by_the_best_sentence(self, store: Any) -> None:
        write(store, library())
        ranked = store.best_sentences(
            ["kale-0", "statin-0", "kale-0", "nope"], EMB.embed(["rich in vitamin K"])[0]
        )
        assert [c for c, _ in ranked] == ["kale-0", "statin-0"]
        assert store.best_sentences([], EMB.embed(["x"])[0]) == []

    def test_store_metadata_change_reaches_the_dense_filter(self, store: Any) -> None:
        write(store, library())
        meta = LIBRARY["kale"][0]
        moved = DocMeta(meta.doc_id, meta.title, meta.publisher, 2010, meta.type)
        item = document(moved, LIBRARY["kale"][1])
        write(store, [DocumentWrite(moved, "hash-moved", item.chunks, {}, item.sentence_vectors)])
        vec = EMB.embed(["kale"])[0]
        assert not store.dense_search(vec, 5, Filters(doc_ids=("kale",), year_min=2020))
        assert len(store.dense_search(vec, 5, Filters(doc_ids=("kale",), year_max=2011))) == 2
        assert store.documents()["kale"].meta.year == 2010

    def test_store_remove_document_leaves_the_others(self, store: Any) -> None:
        write(store, library())
        with store.writer():
            store.remove_document("kale")
        assert set(store.documents()) == {"statin"}
        audit = store.audit()
        assert audit.chunk_ids == ["statin-0"] and set(audit.dense) == {"statin-0"}
        assert store.lexical_search("kale", 5) == []

    def test_store_rejects_a_repeated_document(self, store: Any) -> None:
        item = library()[0]
        with store.writer(), pytest.raises(ValueError, match="same doc_id twice"):
            store.replace_documents([item, item])
        assert store.documents() == {}

    def test_store_version_moves_with_each_commit(self, store: Any) -> None:
        with store.writer():
            v0 = store.version()
            store.replace_documents(library())
            v1 = store.version()
            store.remove_document("statin")
            v2 = store.version()
        assert v0 < v1 < v2

    def test_store_reconcile_of_a_consistent_store_repairs_nothing(self, store: Any) -> None:
        write(store, library())
        with store.writer():
            assert store.reconcile() == {"orphan_vectors": 0, "documents_missing_vectors": 0}
        assert set(store.documents()) == {"kale", "statin"}

    def test_store_drop_all_empties_every_layer(self, store: Any) -> None:
        write(store, library())
        with store.writer():
            store.drop_all()
        audit = store.audit()
        assert store.documents() == {} and audit.rows == () and audit.dense == frozenset()

    def test_store_facets_list_what_is_indexed(self, store: Any) -> None:
        write(store, library())
        facets = store.facets()
        assert facets["types"] == ["Guideline", "Research"]
        assert facets["publishers"] == ["Greens Society", "Heart Society"]
        assert (facets["year_min"], facets["year_max"]) == (2018, 2021)
