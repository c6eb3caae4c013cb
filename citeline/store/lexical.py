"""Lexical search: BM25 over the catalog's FTS5 table, over a query's selective terms."""

from __future__ import annotations

from collections.abc import Sequence

from citeline.store.catalog import Catalog, filter_sql
from citeline.store.model import Filters, Tuning, query_terms

_MATCH_ONE = "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1"


class Lexical:
    """The FTS5 index of one catalog, with the share of chunks each query term occurs in."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._shares = _TermShares()

    def search(
        self, query: str, k: int, filters: Filters | None, tuning: Tuning
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 (higher is better), over the query's selective terms."""
        terms = self._shares.selective(self.catalog, query_terms(query)[:64], tuning)
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        extra, args = filter_sql(filters)
        w = tuning.bm25_weights
        # The joins are only for the filters: FTS rows are written in the same transaction as
        # their chunks. Without filters they cost a lookup per matching row before the sort
        # (at 94k chunks: median 154 -> 21 ms per query, bench/README.md).
        joins = (
            "JOIN chunks c ON c.id = f.chunk_id JOIN documents d ON d.doc_id = c.doc_id "
            if extra
            else ""
        )
        sql = (
            f"SELECT f.chunk_id, -bm25(chunks_fts, 0, {w[0]}, {w[1]}, {w[2]}) AS s "
            f"FROM chunks_fts f {joins}"
            f"WHERE chunks_fts MATCH ?{extra} ORDER BY s DESC LIMIT ?"
        )
        rows = self.catalog.conn().execute(sql, [match, *args, k]).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def unknown_terms(self, terms: Sequence[str]) -> list[str]:
        """The terms that occur in no indexed chunk (matched as the lexical index does: Porter
        stems, case-folded), in the order given."""
        conn = self.catalog.conn()
        out = []
        for t in terms:
            t = t.replace('"', "")
            if t and conn.execute(_MATCH_ONE, [f'"{t}"']).fetchone() is None:
                out.append(t)
        return out


class _TermShares:
    """Which query terms are selective enough to search for, cached per catalog version. A term
    is common when more than `lexical_max_df_share` of the chunks, and more than
    `lexical_min_rows`, contain it; telling so reads at most that many rows (`LIMIT 1 OFFSET n`:
    FTS5 stops there), far less than scoring all of them."""

    def __init__(self) -> None:
        # (version key, row limit, term -> common, term -> count), replaced in one assignment:
        # answers in other threads keep the state they started with (an ingest may commit
        # meanwhile), so none reads a cache another thread has just cleared
        self.state: tuple[tuple[int, float, int], int, dict[str, bool], dict[str, int]] = (
            (-1, -1.0, -1),
            0,
            {},
            {},
        )

    def _current(
        self, catalog: Catalog, tuning: Tuning
    ) -> tuple[tuple[int, float, int], int, dict[str, bool], dict[str, int]]:
        key = (catalog.version(), tuning.lexical_max_df_share, tuning.lexical_min_rows)
        state = self.state
        if state[0] != key:  # the index changed (or the share did): start over
            n = catalog.conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            share, least = tuning.lexical_max_df_share, tuning.lexical_min_rows
            state = (key, max(int(share * n), least), {}, {})
            self.state = state
        return state

    def selective(self, catalog: Catalog, terms: Sequence[str], tuning: Tuning) -> list[str]:
        terms = [t for t in (t.replace('"', "") for t in terms) if t]
        _, limit, common, counts = self._current(catalog, tuning)
        if tuning.lexical_max_df_share >= 1 or len(terms) < 2:
            return terms
        conn = catalog.conn()
        for t in terms:  # the index holds more than `limit` rows for a common term
            if t not in common:
                sql = "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1 OFFSET ?"
                common[t] = conn.execute(sql, [f'"{t}"', limit]).fetchone() is not None
        keep = [t for t in terms if not common[t]]
        if keep:
            return keep
        for t in terms:  # every term is common: the rarest one (exact counts, cached)
            if t not in counts:
                sql = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
                counts[t] = conn.execute(sql, [f'"{t}"']).fetchone()[0]
        return [min(terms, key=lambda t: counts[t])]
