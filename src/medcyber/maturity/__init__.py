"""Maturity self-assessment: the question bank, answers and scoring (pure domain logic)."""
