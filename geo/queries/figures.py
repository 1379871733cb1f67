"""The one definition of each headline figure (在办, 超期, 办结率, 新增, 在岗), as SQL predicates.

The big screen, the dispatch board, the overdue lists, the risk grade, period reports and exports
all count with these, so at one instant they agree. Each predicate is about a case `e` at an
instant bound as `:at` (the caller passes geo.clock.now(), or a report's cut-off):

- 在办 open: accepted (neither 不予受理 rejected nor 重复件 merged), reported by `:at`, not 结案 by `:at`.
  Handled (已处置) and verified (已核查) cases are still open: they are not closed yet.
- 超期 overdue: open, its clock running (已立案, 已派遣, 处置中), and past its deadline at `:at`; a
  suspended (挂账) case's clock stopped when it was suspended. A case without a deadline is not overdue.
- 办结 closed: 结案 by `:at`. 办结率 is closed / accepted among cases reported in a window.
- 新增 new: reported in a window, except merged duplicates (a rejected report was still received).
- 在岗 on duty: workers whose duty flag is on.

Historical instants (a report's cut-off) use each case's present status for 不予受理/重复件 and for
"clock running": reports are issued right after their period ends, when the two are the same.
"""

from geo import lifecycle


def _sql_list(values: frozenset[str] | tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


NOT_ACCEPTED = _sql_list(("rejected", "duplicate"))
CLOCK_RUNS = _sql_list(lifecycle.CLOCK_RUNS)
FINAL = _sql_list(lifecycle.FINAL)


def open_at(e: str = "e", at: str = ":at") -> str:
    """在办 at `at`: accepted, reported by then and not closed by then."""
    return (
        f"({e}.reported_at <= {at} AND {e}.status NOT IN {NOT_ACCEPTED} "
        f"AND ({e}.closed_at IS NULL OR {e}.closed_at > {at}))"
    )


def open_now(e: str = "e", at: str = ":at") -> str:
    """在办 at the present instant: `open_at`, plus the status test it implies then (closed cases have
    status closed), which the partial index `events_open` serves."""
    return f"({e}.status NOT IN {FINAL} AND {open_at(e, at)})"


def overdue_at(e: str = "e", at: str = ":at") -> str:
    """超期 at `at`: open, clock running, deadline passed (a suspended clock stopped at suspension)."""
    return (
        f"({open_at(e, at)} AND {e}.status IN {CLOCK_RUNS} AND {e}.deadline_at IS NOT NULL "
        f"AND {e}.deadline_at < least({at}, coalesce({e}.suspended_at, {at})))"
    )


def closed_at(e: str = "e", at: str = ":at") -> str:
    """办结 by `at`."""
    return f"({e}.status = 'closed' AND {e}.closed_at <= {at})"


def accepted(e: str = "e") -> str:
    """Counted in 办结率's base: neither rejected nor a merged duplicate."""
    return f"({e}.status NOT IN {NOT_ACCEPTED})"


def new_in(e: str = "e", start: str = ":start", end: str = ":end") -> str:
    """新增 in [start, end): reported then, merged duplicates excepted."""
    return f"({e}.reported_at >= {start} AND {e}.reported_at < {end} AND {e}.status <> 'duplicate')"


def on_duty(w: str = "w") -> str:
    """在岗."""
    return f"({w}.on_duty)"


def resolution_rate(closed: int, base: int) -> float | None:
    """办结率 as a share (0..1, 4 decimals), None when nothing was accepted."""
    return round(closed / base, 4) if base else None
