"""`python -m ingest`: load guideline files, chunk by section, embed, and sync the index."""
