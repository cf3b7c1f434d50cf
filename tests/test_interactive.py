"""The terminal questionnaire, driven by scripted input and a console writing to a string buffer."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from maturity_testbank import bank_or_small, small_bank
from medcyber.maturity.bank import QuestionBank
from medcyber.maturity.interactive import QuestionnaireOutcome, run_questionnaire
from medcyber.maturity.scoring import Answer

# small bank: OS-01 RM-01 DC-01 CH-01 do not allow N/A; the XX-02 questions do; CH-02 is optional
SMALL = small_bank()


class Script:
    """input_fn that replays lines and records the prompts; running out of lines is end of input."""

    def __init__(self, *lines: str):
        self.lines = list(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


class Recorder:
    """The save callback: what a database would hold, plus the order of the calls."""

    def __init__(self, existing: dict[str, Answer] | None = None):
        self.stored: dict[str, Answer] = dict(existing or {})
        self.calls: list[Answer] = []

    def __call__(self, answer: Answer) -> None:
        self.calls.append(answer)
        self.stored[answer.question_id] = answer


def run(script: Script, recorder: Recorder, bank: QuestionBank = SMALL) -> tuple[QuestionnaireOutcome, str]:
    out = io.StringIO()
    console = Console(file=out, width=110, color_system=None, force_terminal=False)
    outcome = run_questionnaire(bank, dict(recorder.stored), recorder, console=console, input_fn=script)
    return outcome, out.getvalue()


def level_prompts(script: Script) -> list[str]:
    return [p.split(" ", 1)[0] for p in script.prompts if " level (" in p]


def test_answer_quit_and_resume_at_the_next_unanswered() -> None:
    rec = Recorder()
    s1 = Script("3", "SOP-12 threat model procedure", "2", "", "q")
    outcome, text = run(s1, rec)
    assert outcome.quit and not outcome.complete
    assert (outcome.answered, outcome.total, outcome.saved) == (2, 8, 2)
    assert rec.calls == [
        Answer(question_id="OS-01", level=3, evidence="SOP-12 threat model procedure"),
        Answer(question_id="OS-02", level=2),
    ]
    assert level_prompts(s1) == ["OS-01", "OS-02", "RM-01"]
    assert "Everything answered so far is saved" in text
    assert "Organizational Structure" in text and "2/2" in text  # progress per category at the end

    s2 = Script("4", "", "q")
    outcome2, text2 = run(s2, rec)
    assert level_prompts(s2)[0] == "RM-01"  # resumes at the first unanswered question
    assert "answered 2/8" in text2
    assert rec.stored["RM-01"].level == 4
    assert outcome2.answered == 3 and outcome2.saved == 1


def test_resume_skips_answered_questions_after_a_gap() -> None:
    rec = Recorder(
        {"OS-01": Answer(question_id="OS-01", level=1), "RM-01": Answer(question_id="RM-01", level=2)}
    )
    s = Script("0", "", "5", "", "q")
    run(s, rec)
    assert level_prompts(s) == ["OS-02", "RM-02", "DC-01"]


def test_not_applicable_needs_permission_and_a_reason() -> None:
    rec = Recorder()
    s = Script("n", "1", "", "n", "", "n", "We sell no connected products", "q")
    _, text = run(s, rec)
    assert "N/A is not allowed for OS-01" in text
    assert rec.calls == [
        Answer(question_id="OS-01", level=1),
        Answer(question_id="OS-02", not_applicable=True, na_reason="We sell no connected products"),
    ]
    assert sum("not applicable?" in p for p in s.prompts) == 2  # once cancelled with Enter, once given
    assert "n = N/A" not in next(p for p in s.prompts if p.startswith("OS-01"))
    assert "n = N/A" in next(p for p in s.prompts if p.startswith("OS-02"))


def test_back_shows_the_earlier_answer_and_can_change_it() -> None:
    rec = Recorder()
    s = Script("1", "doc A", "b", "", "b", "4", "", "5", "-", "q")
    outcome, text = run(s, rec)
    # OS-01 answered, back from OS-02, Enter keeps it, back again, change to 4 keeping the evidence,
    # then OS-02 answered 5 ('-' clears nothing there), quit at RM-01
    assert level_prompts(s) == ["OS-01", "OS-02", "OS-01", "OS-02", "OS-01", "OS-02", "RM-01"]
    assert rec.stored["OS-01"] == Answer(question_id="OS-01", level=4, evidence="doc A")
    assert rec.stored["OS-02"] == Answer(question_id="OS-02", level=5)
    assert "current answer: 1 - Initiated" in text
    assert outcome.saved == 3


def test_back_on_the_first_question_and_goto() -> None:
    rec = Recorder()
    s = Script("b", "g DC-02", "2", "", "g nope", "q")
    _, text = run(s, rec)
    assert "This is the first question." in text
    assert "No question NOPE." in text
    assert rec.calls == [Answer(question_id="DC-02", level=2)]


def test_skip_then_return_to_skipped_questions_at_the_end() -> None:
    rec = Recorder()
    answers = ["s"]  # skip OS-01
    for _ in range(7):
        answers += ["3", ""]
    answers += ["y", "2", ""]  # go back to the skipped one at the end
    s = Script(*answers)
    outcome, text = run(s, rec)
    assert not outcome.quit and outcome.complete
    assert outcome.answered == 8 and outcome.saved == 8
    assert level_prompts(s)[0] == "OS-01" and level_prompts(s)[-1] == "OS-01"
    assert any("1 question(s) still unanswered" in p for p in s.prompts)
    assert "All questions are answered." in text
    assert rec.stored["OS-01"].level == 2


def test_optional_question_left_open_is_still_complete() -> None:
    rec = Recorder()
    answers: list[str] = []
    for _ in range(7):
        answers += ["1", ""]
    answers += ["s", "n"]  # skip the optional CH-02, decline going back
    outcome, _ = run(Script(*answers), rec)
    assert outcome.complete and not outcome.quit
    assert outcome.answered == 7 and "CH-02" not in rec.stored


def test_invalid_input_help_progress_and_end_of_input() -> None:
    rec = Recorder()
    s = Script("7", "2.5", "abc", "", "?", "p", "3 - Defined", "")
    outcome, text = run(s, rec)
    assert "level 7 is outside 0-5" in text
    assert "level 2.5 is not a whole number" in text
    assert "'abc' is not a level" in text
    assert "Type a level 0-5" in text
    assert "go to a question by its id" in text
    assert "Progress" in text
    assert rec.calls == [Answer(question_id="OS-01", level=3)]
    assert outcome.quit  # the script ran out: end of input counts as quitting


def test_everything_answered_already() -> None:
    rec = Recorder({q.id: Answer(question_id=q.id, level=2) for q in SMALL.questions})
    outcome, _ = run(Script("n"), rec)
    assert outcome.complete and not outcome.quit and outcome.saved == 0
    s = Script("y", "", "4", "", "q")  # review: keep OS-01, change OS-02
    outcome, _ = run(s, rec)
    assert level_prompts(s) == ["OS-01", "OS-02", "RM-01"]
    assert rec.stored["OS-02"].level == 4 and outcome.quit


def test_a_failing_save_is_not_swallowed() -> None:
    def broken(answer: Answer) -> None:
        raise RuntimeError("database is gone")

    console = Console(file=io.StringIO(), width=100)
    with pytest.raises(RuntimeError, match="database is gone"):
        run_questionnaire(SMALL, {}, broken, console=console, input_fn=Script("3", ""))


def test_whole_bank_in_one_session() -> None:
    """The shipped bank (the small one until it lands), answered from start to end."""
    bank, _ = bank_or_small()
    answers: list[str] = []
    for k in range(len(bank.questions)):
        answers += [str(k % 6), f"evidence {k}"]
    rec = Recorder()
    outcome, _ = run(Script(*answers), rec, bank)
    assert outcome.complete and not outcome.quit
    assert outcome.answered == len(bank.questions) == len(rec.calls)
    assert [a.question_id for a in rec.calls] == [q.id for q in bank.questions]
    assert rec.calls[-1].evidence == f"evidence {len(bank.questions) - 1}"
