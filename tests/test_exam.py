"""The test-authoring API: `student` gives copies of data and handles, never the learner's objects.

Run here in one process (the loopback a notebook uses when it runs on its own), which encodes and
decodes every value exactly as the examiner's socket does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import curriculum.exam as exam


@pytest.fixture()
def notebook(monkeypatch):
    """A learner's namespace, answered through the loopback."""
    names: dict = {}
    monkeypatch.setattr(exam, "_EXAMINER", exam._LocalExaminer(lambda: names))
    return names


def test_data_comes_back_as_a_copy(notebook):
    notebook["trips"] = pd.DataFrame({"a": [1, 2]})
    copy = exam.student.trips
    copy["b"] = 0
    assert list(notebook["trips"].columns) == ["a"]


def test_arguments_go_in_as_copies(notebook):
    def mutate(frame):
        frame["x"] = 1
        return len(frame.columns)

    notebook["mutate"] = mutate
    frame = pd.DataFrame({"a": [1]})
    assert exam.student.mutate(frame) == 2
    assert list(frame.columns) == ["a"], "the examiner's input must not change"


def test_objects_that_are_not_data_come_back_as_handles(notebook):
    class Model:
        scale = 3

        def predict(self, x):
            return np.asarray(x) * self.scale

    notebook["build"] = lambda: Model()
    model = exam.student.build()
    assert isinstance(model, exam.Remote)
    assert model.scale == 3
    np.testing.assert_array_equal(model.predict([1, 2]), [3, 6])


@pytest.mark.parametrize("operation", ["==", "!=", "bool", "<", "float", "len"])
def test_a_handle_cannot_pass_for_data(notebook, operation):
    class Liar(float):
        def __eq__(self, other):
            return True

        __ne__ = __eq__

    notebook["cheat"] = lambda: Liar(1.0)
    got = exam.student.cheat()
    actions = {
        "==": lambda: got == 1.0,
        "!=": lambda: got != 1.0,
        "bool": lambda: bool(got),
        "<": lambda: got < 2,
        "float": lambda: float(got),
        "len": lambda: len(got),
    }
    with pytest.raises(TypeError):
        actions[operation]()


def test_the_learners_exceptions_are_raised_as_builtin_types(notebook):
    class MyError(ValueError):
        pass

    def bad(kind):
        raise {"value": ValueError("bad input"), "own": MyError("own"), "key": KeyError("k")}[kind]

    notebook["bad"] = bad
    with pytest.raises(ValueError, match="bad input"):
        exam.student.bad("value")
    with pytest.raises(ValueError, match="MyError: own"):
        exam.student.bad("own")
    with pytest.raises(KeyError):
        exam.student.bad("key")


def test_base_exceptions_do_not_escape_as_themselves(notebook):
    def leave():
        raise SystemExit(0)

    notebook["leave"] = leave
    with pytest.raises(exam.LearnerError, match="SystemExit"):
        exam.student.leave()


def test_missing_names_say_which_cell_to_run(notebook):
    with pytest.raises(NameError, match="not defined in your notebook"):
        exam.student.nothing_here  # noqa: B018


def test_the_learners_code_can_call_the_tests_functions(notebook):
    notebook["apply"] = lambda f, rows: [f(r) for r in rows]
    seen = []
    assert exam.student.apply(lambda r: seen.append(r) or r * 2, [1, 2]) == [2, 4]
    assert seen == [1, 2]


def test_warnings_of_the_learners_code_are_reported_not_raised(notebook, capsys):
    def noisy():
        warnings.warn("old API", FutureWarning, stacklevel=1)
        return 1

    notebook["noisy"] = noisy
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may reach the test's own warning machinery
        assert exam.student.noisy() == 1
    assert "FutureWarning: old API" in capsys.readouterr().out


def test_the_examiners_own_objects_cannot_be_sent(notebook):
    notebook["identity"] = lambda x: x
    with pytest.raises(ValueError, match="cannot be passed"):
        exam.student.identity(object())


def test_data_withheld_refuses_the_notebooks_data_sets_and_puts_them_back(notebook):
    trips = pd.DataFrame({"duration_s": np.arange(1_000.0)})
    notebook.update(np=np, trips=trips, weights=np.ones(24), _mine=trips, note="text")
    exec(  # the learner's cells: their globals are the notebook's names
        "def build(train):\n"
        "    table = trips['duration_s'].mean()  # the notebook's data, not the argument\n"
        "    return lambda frame: np.full(len(frame), table)\n"
        "def honest(train):\n"
        "    level = train['duration_s'].mean() * weights.mean()  # a small constant is fine\n"
        "    return lambda frame: np.full(len(frame), level)\n",
        notebook,
    )
    train = pd.DataFrame({"duration_s": [1.0, 3.0]})
    with exam.data_withheld() as count:
        assert count == 1, "only trips is data: weights is small, _mine is the test's own"
        with pytest.raises(LookupError, match="notebook's `trips`"):
            exam.student.build(train)
        np.testing.assert_array_equal(exam.student.honest(train)(train), [2.0, 2.0])
        assert exam.student.trips.shape == (1_000, 1), "the test itself still reads it"
    assert notebook["trips"] is trips, "put back when the block ends"
    np.testing.assert_array_equal(exam.student.build(train)(train), [499.5, 499.5])


def test_data_withheld_puts_the_data_back_when_the_test_fails(notebook):
    trips = pd.DataFrame({"a": np.arange(500)})
    notebook["trips"] = trips
    with pytest.raises(AssertionError), exam.data_withheld():
        raise AssertionError("the test's own failure")
    assert notebook["trips"] is trips


@pytest.mark.parametrize(
    "use",
    [
        "len(trips)",
        "list(trips)",
        "trips['a']",
        "trips.a",
        "trips + 1",
        "np.asarray(trips)",
        "pd.concat([trips])",
        "trips.merge(trips)",
    ],
)
def test_every_use_of_withheld_data_fails(notebook, use):
    notebook.update(np=np, pd=pd, trips=pd.DataFrame({"a": np.arange(500)}))
    exec(f"def peek():\n    return {use}\n", notebook)
    with exam.data_withheld(), pytest.raises(LookupError):
        exam.student.peek()


def test_a_result_kept_by_one_test_cell_is_fetched_by_another(monkeypatch):
    monkeypatch.setattr(exam, "_KEPT", {})
    with pytest.raises(exam.NotAvailable, match="has not run yet"):
        exam.computed("quality")
    with exam.computing("quality") as kept:
        kept["closed"] = 0.7
    assert exam.computed("quality") == {"closed": 0.7}


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        (AssertionError("predict must return one ETA per trip"), "failed: AssertionError: predict"),
        (KeyboardInterrupt(), "was stopped before it finished"),
    ],
)
def test_a_failed_computation_leaves_its_reason_not_a_name_error(monkeypatch, stop, reason):
    monkeypatch.setattr(exam, "_KEPT", {"quality": {"closed": 0.9}})  # an earlier run's values
    with pytest.raises(type(stop)), exam.computing("quality") as kept:
        kept["closed"] = 0.1
        raise stop
    with pytest.raises(exam.NotAvailable, match=f"because test cell quality {reason}"):
        exam.computed("quality")
