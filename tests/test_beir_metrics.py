"""Ranking metrics against values worked out by hand (trec_eval definitions, linear gain)."""

from __future__ import annotations

import math

import pytest

from eval.metrics import evaluate, mrr_at_k, ndcg_at_k, recall_at_k


def test_ndcg_graded_with_an_unretrieved_relevant_document():
    # DCG = 2/log2(2) + 0 + 1/log2(4) = 2.5; ideal grades 2, 1, 1 (d is judged but not found):
    # IDCG = 2 + 1/log2(3) + 1/log2(4) = 3.130930
    qrels = {"a": 2, "c": 1, "d": 1}
    assert ndcg_at_k(["a", "b", "c"], qrels) == pytest.approx(2.5 / 3.130930, abs=1e-6)


def test_ndcg_perfect_ranking_is_one_and_order_matters():
    qrels = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b", "x"], qrels) == pytest.approx(1.0)
    # Swapped: DCG = 1 + 2/log2(3) = 2.261860; IDCG = 2 + 1/log2(3) = 2.630930
    assert ndcg_at_k(["b", "a"], qrels) == pytest.approx(2.261860 / 2.630930, abs=1e-6)


def test_ndcg_grade_zero_judgements_are_not_relevant():
    # "z" is judged non-relevant: it adds nothing to DCG nor to the ideal.
    assert ndcg_at_k(["z", "a"], {"a": 1, "z": 0}) == pytest.approx(1 / math.log2(3))


def test_ndcg_cuts_at_k_both_ranking_and_ideal():
    qrels = {f"r{i}": 1 for i in range(12)}
    ranking = [f"r{i}" for i in range(12)]
    # Ten relevant in the top ten and an ideal cut at ten as well: 1.0, not 10/12 of it.
    assert ndcg_at_k(ranking, qrels, 10) == pytest.approx(1.0)
    late = ["x"] * 10 + ["r0"]
    assert ndcg_at_k(late, qrels, 10) == 0.0


def test_ndcg_without_relevant_documents_is_zero():
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0
    assert ndcg_at_k([], {"a": 1}) == 0.0


def test_recall_counts_relevant_documents_in_the_top_k():
    ranking = ["a", *[f"x{i}" for i in range(98)], "b", "c"]  # "c" is at rank 101
    assert recall_at_k(ranking, {"a": 1, "b": 2, "c": 1, "n": 0}) == pytest.approx(2 / 3)
    assert recall_at_k(ranking, {"a": 1}, 1) == 1.0
    assert recall_at_k(ranking, {"n": 0}) == 0.0


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_document():
    assert mrr_at_k(["x", "n", "a", "b"], {"a": 1, "b": 2, "n": 0}) == pytest.approx(1 / 3)
    assert mrr_at_k(["a"], {"a": 2}) == 1.0
    assert mrr_at_k([*["x"] * 10, "a"], {"a": 1}) == 0.0


def test_evaluate_averages_over_queries():
    runs = {"q1": ["a", "b"], "q2": ["x", "c"]}
    qrels = {"q1": {"a": 1}, "q2": {"c": 1}}
    scores = evaluate(runs, qrels)
    assert scores["ndcg@10"] == pytest.approx((1.0 + 1 / math.log2(3)) / 2)
    assert scores["recall@100"] == pytest.approx(1.0)
    assert scores["mrr@10"] == pytest.approx((1.0 + 0.5) / 2)
