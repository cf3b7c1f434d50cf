"""The interactive terminal questionnaire: one question at a time, saved after every answer.

:func:`run_questionnaire` knows nothing about storage: the caller passes the answers it already has
and a ``save`` callback that is called after *each* answer, so a person can quit at any moment and
resume later (the questionnaire then starts at the first unanswered question). Input comes from
``input_fn`` (default: the rich console), so tests and other front ends can script it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .answers_io import NA_TEXT, clean_text, level_label, parse_level
from .bank import Question, QuestionBank
from .scoring import Answer

InputFn = Callable[[str], str]

HELP = f"""[bold]Commands[/bold]
  [bold]0[/bold]-[bold]5[/bold]    answer with that level (you may then name your evidence)
  [bold]n[/bold]      not applicable ({NA_TEXT}) - only where the question allows it; asks for a reason
  [bold]s[/bold]      skip this question for now
  [bold]b[/bold]      back to the previous question
  [bold]g ID[/bold]   go to a question by its id, e.g. g RM-03
  [bold]p[/bold]      show progress per category
  [bold]Enter[/bold]  keep the current answer and go on
  [bold]q[/bold]      quit - every answer given so far is already saved; run again to resume
  [bold]?[/bold]      this help"""


@dataclass(frozen=True)
class QuestionnaireOutcome:
    """How a questionnaire session ended."""

    answered: int
    """Questions of the bank answered (a level or N/A) at the end, earlier sessions included."""
    total: int
    complete: bool
    """Every required question is answered."""
    quit: bool
    """The person left with ``q`` (or end of input / Ctrl-C) rather than by reaching the end."""
    saved: int = 0
    """Answers saved during this session."""
    answers: dict[str, Answer] = field(default_factory=dict)


class _Quit(Exception):
    pass


class _Session:
    def __init__(
        self,
        bank: QuestionBank,
        existing: Mapping[str, Answer],
        save: Callable[[Answer], None],
        console: Console,
        input_fn: InputFn | None,
        ask_evidence: bool,
    ):
        self.bank = bank
        self.questions = list(bank.questions)
        self.answers: dict[str, Answer] = {k: v for k, v in existing.items() if bank.has_question(k)}
        self.save_cb = save
        self.console = console
        self.input_fn = input_fn
        self.ask_evidence = ask_evidence
        self.saved = 0
        self.scale_names = [s.name for s in bank.scale]

    # --- helpers -------------------------------------------------------------------------------
    def ask(self, prompt: str) -> str:
        try:
            if self.input_fn is None:
                return self.console.input(prompt)
            return self.input_fn(Text.from_markup(prompt).plain)
        except (EOFError, KeyboardInterrupt):
            raise _Quit() from None

    def is_answered(self, q: Question) -> bool:
        a = self.answers.get(q.id)
        return a is not None and a.answered

    def next_unanswered(self, start: int) -> int | None:
        for i in range(start, len(self.questions)):
            if not self.is_answered(self.questions[i]):
                return i
        return None

    def answered_count(self) -> int:
        return sum(1 for q in self.questions if self.is_answered(q))

    def store(self, answer: Answer) -> None:
        self.save_cb(answer)
        self.answers[answer.question_id] = answer
        self.saved += 1

    def describe(self, a: Answer | None) -> str:
        if a is None or not a.answered:
            return "not answered"
        if a.not_applicable:
            return f"{NA_TEXT} ({a.na_reason})"
        assert a.level is not None
        return level_label(a.level, self.scale_names)

    # --- display -------------------------------------------------------------------------------
    def progress_table(self) -> Table:
        t = Table(title="Progress", show_edge=False)
        t.add_column("Category")
        t.add_column("Answered", justify="right")
        t.add_column("", min_width=12)
        for cat in self.bank.categories:
            qs = self.bank.questions_in(cat.id)
            done = sum(1 for q in qs if self.is_answered(q))
            t.add_row(cat.name, f"{done}/{len(qs)}", _bar(done, len(qs)))
        total, done = len(self.questions), self.answered_count()
        t.add_row("[bold]All[/bold]", f"[bold]{done}/{total}[/bold]", _bar(done, total))
        return t

    def show(self, i: int) -> None:
        q = self.questions[i]
        cat = self.bank.category(q.category)
        area = self.bank.practice_area(q.practice_area)
        cat_qs = self.bank.questions_in(q.category)
        cat_done = sum(1 for x in cat_qs if self.is_answered(x))
        self.console.print()
        self.console.print(
            f"[dim]Question {i + 1} of {len(self.questions)} - answered {self.answered_count()}/"
            f"{len(self.questions)} - {escape(cat.name)} {cat_done}/{len(cat_qs)}[/dim]"
        )
        current = self.answers.get(q.id)
        levels = Table(show_header=True, box=None, padding=(0, 1), expand=True)
        levels.add_column("Level", no_wrap=True)
        levels.add_column("Descriptor", ratio=1)
        for n, descriptor in enumerate(q.levels):
            mark = current is not None and current.level == n
            style = "bold reverse" if mark else ""
            levels.add_row(f"{n} {escape(self.scale_names[n])}", escape(descriptor), style=style)
        parts: list[object] = [Text(q.text, style="bold")]
        if q.guidance:
            parts += [Text(""), Text(q.guidance, style="dim")]
        parts += [Text(""), levels]
        notes = []
        if q.na_allowed:
            notes.append(f"{NA_TEXT} allowed (n)")
        if not q.required:
            notes.append("optional")
        if current is not None and current.answered:
            notes.append(f"current answer: {self.describe(current)}")
            if current.evidence:
                notes.append(f"evidence: {current.evidence}")
        if notes:
            parts += [Text(""), Text(" - ".join(notes), style="cyan")]
        title = f"[bold]{escape(q.id)}[/bold] {escape(cat.name)} > {escape(area.name)}"
        self.console.print(Panel(Group(*parts), title=title, title_align="left"))  # type: ignore[arg-type]

    # --- one question --------------------------------------------------------------------------
    def ask_question(self, i: int) -> str | tuple[str, int]:
        """Ask question ``i`` until it is answered or left; returns 'next', 'back' or ('goto', index)."""
        q = self.questions[i]
        options = "0-5" + (", n = N/A" if q.na_allowed else "") + ", s = skip, b = back, q = quit, ? = help"
        while True:
            raw = self.ask(f"[bold]{escape(q.id)}[/bold] level ({options}): ").strip()
            cmd = raw.casefold()
            current = self.answers.get(q.id)
            if cmd == "":
                if current is not None and current.answered:
                    return "next"
                self.console.print("[yellow]Type a level 0-5 (or s to skip, ? for help).[/yellow]")
            elif cmd in ("q", "quit", "exit"):
                raise _Quit()
            elif cmd in ("s", "skip"):
                return "next"
            elif cmd in ("b", "back"):
                if i == 0:
                    self.console.print("[yellow]This is the first question.[/yellow]")
                else:
                    return "back"
            elif cmd in ("?", "h", "help"):
                self.console.print(HELP)
            elif cmd in ("p", "progress"):
                self.console.print(self.progress_table())
            elif cmd.startswith("g ") or cmd.startswith("goto "):
                target = raw.split(None, 1)[1].strip().upper()
                index = next((k for k, x in enumerate(self.questions) if x.id.upper() == target), None)
                if index is None:
                    self.console.print(f"[yellow]No question {escape(target)}.[/yellow]")
                else:
                    return ("goto", index)
            elif cmd in ("n", "na", "n/a"):
                if not q.na_allowed:
                    self.console.print(
                        f"[yellow]{NA_TEXT} is not allowed for {escape(q.id)}; choose 0-5.[/yellow]"
                    )
                    continue
                reason = clean_text(self.ask(f"Why is {escape(q.id)} not applicable? (Enter to cancel): "))
                if not reason:
                    continue
                self.store(
                    Answer(
                        question_id=q.id,
                        not_applicable=True,
                        na_reason=reason,
                        evidence=current.evidence if current else None,
                        note=current.note if current else None,
                    )
                )
                self.console.print(f"[green]Saved {escape(q.id)}: {NA_TEXT}[/green]")
                return "next"
            else:
                try:
                    level, _ = parse_level(raw, self.scale_names)
                except ValueError as exc:
                    self.console.print(f"[yellow]{escape(str(exc))} - type ? for help.[/yellow]")
                    continue
                if level is None:  # "N/A" typed out in full
                    self.console.print("[yellow]Use n for not applicable.[/yellow]")
                    continue
                evidence = current.evidence if current else None
                if self.ask_evidence:
                    hint = "Enter to keep, - to clear" if evidence else "Enter to skip"
                    typed = self.ask(f"Evidence (optional; {hint}): ").strip()
                    if typed == "-":
                        evidence = None
                    elif typed:
                        evidence = clean_text(typed)
                self.store(
                    Answer(
                        question_id=q.id,
                        level=level,
                        evidence=evidence,
                        note=current.note if current else None,
                    )
                )
                self.console.print(
                    f"[green]Saved {escape(q.id)}: {escape(level_label(level, self.scale_names))}[/green]"
                )
                return "next"

    # --- the session ---------------------------------------------------------------------------
    def run(self) -> bool:
        """Run the session; True if the person quit."""
        c = self.console
        c.print(
            Panel(
                f"[bold]{escape(self.bank.title)}[/bold]\nbank {self.bank.id} {self.bank.version}",
                expand=False,
            )
        )
        c.print(self.progress_table())
        c.print("[dim]Your answers are saved after each question; q quits, ? shows help.[/dim]")
        review = False
        i = self.next_unanswered(0)
        try:
            if i is None:
                again = self.ask("All questions are answered. Review them from the start? [y/N]: ")
                if again.strip().casefold() not in ("y", "yes"):
                    return False
                review, i = True, 0
            while True:
                if i is None or i >= len(self.questions):
                    left = self.next_unanswered(0)
                    if left is None:
                        c.print("[bold green]All questions are answered.[/bold green]")
                        return False
                    missing = len(self.questions) - self.answered_count()
                    again = self.ask(f"{missing} question(s) still unanswered. Go back to them now? [y/N]: ")
                    if again.strip().casefold() not in ("y", "yes"):
                        return False
                    review, i = False, left
                if not self.is_answered(self.questions[i]):
                    review = False
                self.show(i)
                step = self.ask_question(i)
                if step == "back":
                    review, i = True, i - 1
                elif isinstance(step, tuple):
                    review, i = True, step[1]
                elif review:
                    i = i + 1
                else:
                    i = self.next_unanswered(i + 1)
        except _Quit:
            c.print("\n[bold]Stopped.[/bold] Everything answered so far is saved; run again to continue.")
            return True
        finally:
            c.print(self.progress_table())


def run_questionnaire(
    bank: QuestionBank,
    existing: Mapping[str, Answer],
    save: Callable[[Answer], None],
    *,
    console: Console,
    input_fn: InputFn | None = None,
    ask_evidence: bool = True,
) -> QuestionnaireOutcome:
    """Ask the questions of ``bank`` in the terminal, calling ``save`` after each answer.

    ``existing`` maps question id -> answer already given (answers to ids not in the bank are
    ignored). The session starts at the first unanswered question. ``input_fn(prompt)`` returns one
    line of input (default: ``console.input``); EOFError or KeyboardInterrupt count as quitting.
    """
    session = _Session(bank, existing, save, console, input_fn, ask_evidence)
    quit_ = session.run()
    required = [q for q in bank.questions if q.required]
    return QuestionnaireOutcome(
        answered=session.answered_count(),
        total=len(session.questions),
        complete=all(session.is_answered(q) for q in required),
        quit=quit_,
        saved=session.saved,
        answers=dict(session.answers),
    )


def _bar(done: int, total: int, width: int = 12) -> str:
    filled = round(width * done / total) if total else 0
    return "[green]" + "#" * filled + "[/green][dim]" + "-" * (width - filled) + "[/dim]"
