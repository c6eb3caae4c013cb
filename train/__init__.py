"""Models Citeline trains itself: `python -m train <model>` (one seeded command per model)."""
