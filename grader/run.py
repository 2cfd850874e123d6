"""Grade one submission end to end: the report files always written, whatever happens.

Shared by the command line (:mod:`grader.__main__`) and class grading (:mod:`grader.batch`),
which do not import each other.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path


def preload() -> None:
    """Import everything the grader's process will use before any submission runs, so that
    nothing a submission's process could have touched is imported later (the figures'
    matplotlib, the report writers, the checks)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.patches  # noqa: F401
    import PIL.features  # noqa: F401
    from matplotlib import colormaps  # noqa: F401
    from PIL import Image

    Image.init()  # every image plugin, not on first use

    import grader.calibration  # noqa: F401
    import grader.checks  # noqa: F401
    import grader.grade  # noqa: F401
    import grader.html_report  # noqa: F401
    import grader.libraries  # noqa: F401
    import grader.oracle  # noqa: F401  (the judges import it when they run)
    import grader.report  # noqa: F401
    import grader.scoring  # noqa: F401
    import grader.submission  # noqa: F401


def grade_one(
    spec,
    questions,
    limits,
    out=None,
    results=None,
    library_penalty=False,
    log=None,
    jobs=1,
    checks=None,
):
    """Grade ``spec``; write results.json and report.html whatever happens.

    ``checks``: the checks to grade with (the Q4 ones on an instructor's photos); default all.

    Returns
    -------
    grade : Grade
        The grade (zeros everywhere, with the reason, when nothing could be graded).
    error : str
        Why nothing could be graded, or "".
    """
    from grader.implementation import ImplementationError
    from grader.report import gradescope_results, write_results
    from grader.sandbox import Limits, SandboxUnavailable, sandbox_mode
    from grader.scoring import failed_everywhere
    from grader.submission import open_submission

    limits = limits or Limits()
    start = time.monotonic()
    result, error, mode_line = None, "", ""
    try:
        mode_line = sandbox_mode(limits).line
        # opening runs none of the submission's code: a missing folder or an unreadable zip
        # is reported before the imports and the calibration a grade needs
        with open_submission(spec) as submission:
            preload()
            from grader.grade import grade

            if limits.machine_factor is None:  # this machine's speed, before it runs
                from grader.calibration import machine_factor

                limits = dataclasses.replace(limits, machine_factor=machine_factor())
            result = grade(submission, questions, limits, out, library_penalty, log, jobs, checks)
            result.skipped = list(submission.skipped)
    except (ImplementationError, SandboxUnavailable) as exc:
        error = str(exc)
    except Exception:  # the grader's own failure: still leave a valid results.json
        error = "the grader failed: " + traceback.format_exc(limit=5)
    if result is None:
        from grader.grade import Grade

        result = Grade(str(spec), failed_everywhere(questions, error), time.monotonic() - start)
    result.sandbox = mode_line
    if results:
        notes = result.notes + (f"\n{error}" if error else "")
        write_results(
            results,
            gradescope_results(result.scores, result.seconds, notes.strip(), mode_line),
        )
    if out:
        _write_html(result, out)
    return result, error


def _write_html(result, out) -> Path | None:
    try:
        from grader.html_report import write_html
    except ImportError:
        return None
    return write_html(result, Path(out))
