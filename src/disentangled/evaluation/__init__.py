"""Evaluations of trained models that need more than a metric's array core."""

from .discrete_code import discrete_codes, evaluate_discrete_code, held_out_split

__all__ = ["discrete_codes", "evaluate_discrete_code", "held_out_split"]
