"""The grade as one self-contained HTML page: scores, each check's verdict, and the figures.

The page needs nothing beside itself: the figures are embedded as base64 ``data:`` URIs and
the styles and the one small script are inline, so it opens offline and still works when
moved or mailed. Every piece of text is escaped (messages can quote submission output), and a
Content-Security-Policy lets the page load nothing from outside and run no script but its own.
"""

from __future__ import annotations

import base64
import hashlib
import html
import mimetypes
import re
from pathlib import Path

from grader.report import total_line
from grader.scoring import NOT_GRADABLE, NOT_PROVIDED, PASSED, QuestionScore

# Sets ``data-loaded-images`` on <body> once the page has loaded: how many figures decoded
# (tests read it back from a headless browser).
_SCRIPT = (
    'window.addEventListener("load", function () {'
    " var n = 0, imgs = document.images;"
    " for (var i = 0; i < imgs.length; i++) {"
    " if (imgs[i].complete && imgs[i].naturalWidth > 0) { n++; } }"
    ' document.body.setAttribute("data-loaded-images", String(n)); });'
)
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'"
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d1d1f; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; width: 100%; margin: .6em 0; }
th, td { border: 1px solid #d0d0d0; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.total { font-size: 1.15em; font-weight: 600; }
.meta { color: #555; }
.status { font-weight: 600; white-space: nowrap; border-radius: .3em; padding: .05em .4em; }
.s-passed { background: #d8f5d8; color: #135e13; }
.s-partial { background: #fff0c2; color: #6b4e00; }
.s-failed { background: #fbd5d5; color: #8a1111; }
.s-not-implemented { background: #e4e4e4; color: #444; }
.s-not-provided, .s-not-gradable { background: #e2e8f0; color: #334; }
.s-written { background: #dbe9fb; color: #17457a; }
.s-not-submitted { background: #fbd5d5; color: #8a1111; }
tr.feedback td { background: #fafafa; color: #444; }
th.group { background: #fff; font-weight: 600; border-left: none; border-right: none; }
pre.message { white-space: pre-wrap; word-wrap: break-word; margin: 0; font-size: .9em;
              font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.over { color: #8a1111; font-weight: 600; }
figure { display: inline-block; margin: .6em 1em .6em 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #555; }
.notes li { margin: .3em 0; }
@media print { h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def _e(text) -> str:
    """``text`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def _first_line(text: str) -> str:
    for line in str(text).strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _status(status: str) -> str:
    css = "s-" + re.sub(r"[^a-z]+", "-", status.lower()).strip("-")
    return f'<span class="status {css}">{_e(status)}</span>'


def _anchor(question_id: str) -> str:
    return "q" + question_id.replace(".", "_")


def _points(s: QuestionScore) -> str:
    if s.status == NOT_GRADABLE:
        return "n/a"
    if s.question.written:
        return "not scored"
    return f"{s.score:g}/{s.max_score:g}"


def figures_by_question(figures, question_ids) -> tuple[dict[str, list[Path]], list[Path]]:
    """Group figure files under their question by the ``qX_Y`` prefix of their names.

    The longest run of numbers after ``q`` that names a question wins, so ``q4_3_01_list.png``
    belongs to Q4.3 and ``q5_3_1_reconstructions.png`` to Q5.3.1.

    Parameters
    ----------
    figures : iterable of path
        The figure files, in the order the checks drew them.
    question_ids : iterable of str
        The questions on the page, e.g. ``"4.3"``.

    Returns
    -------
    grouped : dict of str to list of Path
        Figures per question id, in their original order.
    other : list of Path
        Figures whose names match no question.
    """
    ids = set(question_ids)
    grouped: dict[str, list[Path]] = {}
    other: list[Path] = []
    for figure in figures:
        path = Path(figure)
        match = re.match(r"q(\d+(?:_\d+)*)", path.name)
        parts = match.group(1).split("_") if match else []
        for n in range(len(parts), 0, -1):
            qid = ".".join(parts[:n])
            if qid in ids:
                grouped.setdefault(qid, []).append(path)
                break
        else:
            other.append(path)
    return grouped, other


def _figure(path: Path, base: Path) -> str:
    file = path if path.is_absolute() else base / path
    try:
        data = file.read_bytes()
    except OSError as exc:
        return f'<p class="meta">Figure {_e(path.name)} could not be read ({_e(exc)}).</p>'
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return (
        f'<figure><img src="{uri}" alt="{_e(path.name)}">'
        f"<figcaption>{_e(path.name)}</figcaption></figure>"
    )


def _check_rows(s: QuestionScore, limits) -> list[str]:
    """The checks' rows: first those that carry the question's points, then (under their
    own heading) those that are teaching feedback only."""
    points_rows = [c for c in s.checks if not c.check.feedback]
    feedback_rows = [c for c in s.checks if c.check.feedback]
    rows = [_check_row(s, c, limits) for c in points_rows]
    if feedback_rows:
        if points_rows:
            rows.insert(0, _group_row("checks that carry the points"))
        rows.append(_group_row("feedback only: no points, for what to improve"))
        rows += [_check_row(s, c, limits) for c in feedback_rows]
    return rows


def _group_row(title: str) -> str:
    return f'<tr><th class="group" colspan=5>{_e(title)}</th></tr>'


def _check_row(s: QuestionScore, c, limits) -> str:
    if c.check.feedback:
        points = "feedback, no points"
    elif s.question.written:
        points = "not scored"
    elif c.outcome == NOT_GRADABLE:
        points = "n/a"
    elif c.outcome == NOT_PROVIDED:
        points = "left out"
    else:
        points = f"{c.points:g}/{c.max_points:g}"
    budget = limits.budget(c.check) if limits is not None else c.check.budget
    if c.seconds > 0:
        over = c.seconds >= budget
        took = f"{c.seconds:.1f} s of {budget:g} s"
        took = f'<span class="over">{_e(took)}</span>' if over else _e(took)
    else:
        took = f"&mdash; (budget {budget:g} s)"
    message = (
        f'<pre class="message">{_e(c.message.strip())}</pre>'
        if c.message.strip()
        else ("" if c.outcome == PASSED else '<span class="meta">no message</span>')
    )
    css = ' class="feedback"' if c.check.feedback else ""
    return (
        f"<tr{css}><td>{_e(c.name)}</td><td class=num>{_e(points)}</td>"
        f"<td>{_status(c.outcome)}</td><td class=num>{took}</td><td>{message}</td></tr>"
    )


def _section(s: QuestionScore, figures: list[Path], base: Path, limits) -> str:
    q = s.question
    star = " (extra credit)" if q.extra_credit else ""
    parts = [
        f'<section id="{_anchor(q.id)}">',
        f"<h2>Q{_e(q.id)} {_e(q.title)}{star} &mdash; {_e(_points(s))} {_status(s.status)}</h2>",
    ]
    if s.summary:
        parts.append(f'<p class="meta">{_e(s.summary)}</p>')
    rows = _check_rows(s, limits)
    if rows:
        parts += [
            "<table class=checks><thead><tr><th>check</th><th>points</th><th>outcome</th>"
            "<th>time (of budget)</th><th>what to look at</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
        ]
    if figures:
        parts.append('<div class="figures">')
        parts += [_figure(f, base) for f in figures]
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _budget_statement(limits) -> str:
    if limits is None:
        return "Each check ran with a CPU-time budget."
    text = (
        "Each question ran in its own process, capped at "
        f"{limits.memory_mb:,} MB of memory. Each check had a CPU-time budget, shown "
        "beside the time it took"
    )
    if limits.time_factor != 1:
        text += f" (the checks' budgets times {limits.time_factor:g} on this grader)"
    if (getattr(limits, "machine_factor", None) or 1) > 1:
        text += (
            f" (and times {limits.machine_factor:g}: this machine ran the grader's reference "
            "workload that much slower than the machine the budgets were set on)"
        )
    if getattr(limits, "max_check_seconds", None) is not None:
        text += f", and no check more than {limits.max_check_seconds:g} s"
    return (
        text + ". The budgets are generous: correct code, even with Python loops over the "
        "samples, finishes well within them; a check still running at its budget was stopped "
        "and failed."
    )


def render_html(grade, base: str | Path = ".") -> str:
    """The grade as one self-contained HTML page.

    Parameters
    ----------
    grade : grader.grade.Grade
        What one grading produced.
    base : path
        The folder relative figure paths are read from.

    Returns
    -------
    str
        The page: inline styles, figures embedded as base64 ``data:`` URIs.
    """
    base = Path(base)
    scores = list(grade.scores)
    limits = getattr(grade, "limits", None)
    grouped, other = figures_by_question(grade.figures, [s.question.id for s in scores])
    n_images = sum(len(v) for v in grouped.values()) + len(other)

    rows = []
    for s in scores:
        q = s.question
        star = "*" if q.extra_credit else ""
        rows.append(
            f'<tr class="{_e("row-" + s.status.replace(" ", "-"))}">'
            f'<td><a href="#{_anchor(q.id)}">Q{_e(q.id)}{star}</a></td><td>{_e(q.title)}</td>'
            f"<td class=num>{_e(_points(s))}</td><td>{_status(s.status)}</td>"
            f"<td>{_e(_first_line(s.summary))}</td></tr>"
        )

    notes = [line for line in grade.notes.splitlines() if line.strip()]
    body = [
        f"<h1>Grading {_e(grade.label)}</h1>",
        f'<p class="total">{_e(total_line(scores))}</p>',
        f'<p class="meta">Graded in {grade.seconds:.1f} s.</p>',
        *(
            [f'<p class="meta" id="sandbox">{_e(grade.sandbox)}</p>']
            if getattr(grade, "sandbox", "")
            else []
        ),
        "<table class=scores><thead><tr><th>question</th><th>title</th><th>points</th>"
        "<th>status</th><th>reason</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]
    if notes:
        body += ["<h2>Notes</h2>", '<ul class="notes">']
        body += [f"<li>{_e(line)}</li>" for line in notes]
        body.append("</ul>")
    body += [
        f'<p class="meta" id="budgets">Time budgets: {_e(_budget_statement(limits))}</p>',
        *(_section(s, grouped.get(s.question.id, []), base, limits) for s in scores),
    ]
    if other:
        body += ['<section id="other-figures"><h2>Other figures</h2>']
        body += [_figure(f, base) for f in other]
        body.append("</section>")

    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Grading {_e(grade.label)}</title>",
            f"<style>{_STYLE}</style>",
            f"<script>{_SCRIPT}</script>",
            f'</head><body data-images="{n_images}">',
            *body,
            "</body></html>",
            "",
        ]
    )


def write_html(grade, out_dir: str | Path) -> Path:
    """Write the grade's HTML report to ``out_dir/report.html``.

    Parameters
    ----------
    grade : grader.grade.Grade
        What one grading produced; its figures (relative paths are read from ``out_dir``)
        are embedded in the page.
    out_dir : path
        The folder to write into; made if missing.

    Returns
    -------
    pathlib.Path
        The report's path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(render_html(grade, out), encoding="utf-8")
    return path
