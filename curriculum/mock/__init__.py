"""``mlsd mock``: a timed mock interview, in a notebook of its own or in the terminal."""

from curriculum.mock.cases import CASES, RUBRIC, Case, get_case
from curriculum.mock.interview import PLAN, Alternative, Feedback, Interview, Scope

__all__ = [
    "CASES",
    "PLAN",
    "RUBRIC",
    "Alternative",
    "Case",
    "Feedback",
    "Interview",
    "Scope",
    "get_case",
]
