"""`python -m eval`: retrieval benchmarks and answer-quality suites."""
