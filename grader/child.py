"""The submission's process: run the tasks of one question's checks and write back plain data.

Started by :mod:`grader.sandbox` as ``python -I grader/child.py JOBDIR`` in a scratch folder
(inside bubblewrap when it can run). It caps its own resources before any submission code
runs, copies the submission into its scratch folder, imports the job's task modules, then
for each check of the job: writes ``start i`` on the progress pipe, loads the inputs, calls
the task, writes ``JOBDIR/out_i_k.npy`` (one file per array) plus ``JOBDIR/out_i.json``
(status, strings, the arrays' names, timings) and writes ``done i``, then waits for the
grader to take those files before it goes on.

Nothing here decides a grade or a deadline: the grader's process keeps the clock, accepts
only the progress lines it expects, and re-reads and re-validates everything under caps.
"""

from __future__ import annotations

import importlib
import importlib.abc
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

# Arrays the task returns must hold numbers (float, int, unsigned, bool); anything else is
# refused here (and re-checked by the grader).
_NUMERIC_KINDS = "fiub"


def set_limits(limits: dict) -> None:
    """Cap address space, CPU time and file size of this process (and what it starts)."""
    caps = (
        (resource.RLIMIT_AS, limits.get("memory_bytes")),
        (resource.RLIMIT_CPU, limits.get("cpu_seconds")),
        (resource.RLIMIT_FSIZE, limits.get("file_bytes")),
        (resource.RLIMIT_CORE, 0),
    )
    for which, value in caps:
        if value is None:
            continue
        soft, hard = resource.getrlimit(which)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (value, hard))


def save_outputs(jobdir: Path, index: int, record: dict, arrays: dict) -> None:
    """Write one check's record (``out_i.json``) and arrays (``out_i_k.npy``)."""
    import numpy as np

    if record.get("status") == "ok":
        record["arrays"] = list(arrays)
        for k, value in enumerate(arrays.values()):
            np.save(jobdir / f"out_{index}_{k}.npy", value, allow_pickle=False)
    (jobdir / f"out_{index}.json").write_text(json.dumps(record), encoding="utf-8")


def load_inputs(jobdir: Path, index: int) -> dict:
    import numpy as np

    inputs = json.loads((jobdir / f"in_{index}.json").read_text(encoding="utf-8"))
    npz = jobdir / f"in_{index}.npz"
    if npz.exists():
        with np.load(npz, allow_pickle=False) as data:
            inputs.update({k: data[k] for k in data.files})
    return inputs


def pack(result) -> tuple[dict, dict, list]:
    """Split a task's dict into arrays (for .npz), JSON values and the names that were None."""
    import numpy as np

    if not isinstance(result, dict):
        raise TypeError(f"the grader's task returned {type(result).__name__}, not a dict")
    arrays, values, nones = {}, {}, []
    for key, value in result.items():
        if value is None:
            nones.append(key)
        elif isinstance(value, str) or (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value)
        ):
            values[key] = value if isinstance(value, str) else list(value)
        else:
            array = np.asarray(value)
            if array.dtype.kind not in _NUMERIC_KINDS:
                raise TypeError(
                    f"`{key}` came back as {type(value).__name__} holding "
                    f"{array.dtype} values; expected numbers (an array of floats or ints)"
                )
            arrays[key] = np.array(array, copy=True)
    return arrays, values, nones


def _library_dirs() -> tuple[str, ...]:
    """Where Python's and the installed libraries' code lives (numpy, scikit-image ...)."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    dirs.update(site.getsitepackages())
    return tuple(str(Path(d).resolve()) + os.sep for d in dirs if d)


def where(exc: BaseException) -> str:
    """The last traceback frame in the submission's own code (not the grader's, not a
    library's): where in the submission it went wrong, e.g. the line calling ``np.split``
    rather than the line inside numpy that raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = str(Path(__file__).resolve().parent)
    theirs = [f for f in frames if not f.filename.startswith(own)]
    libraries = _library_dirs()
    code = [
        f
        for f in theirs
        if not f.filename.startswith("<")
        and not str(Path(f.filename).resolve()).startswith(libraries)
    ]
    frame = (code or theirs or frames or [None])[-1]
    if frame is None:
        return ""
    return f" (at {Path(frame.filename).name}:{frame.lineno}, in {frame.name})"


def run_check(job: dict, check: dict, impl) -> dict:
    """Run one task; write what it returned into the job folder; return its status record."""
    from grader.implementation import NotProvided

    module_name, _, func_name = check["task"].partition(":")
    task = getattr(importlib.import_module(module_name), func_name)
    inputs = load_inputs(Path(job["jobdir"]), check["index"])
    start = time.monotonic()
    try:
        result = task(impl, inputs)
        arrays, values, nones = pack(result)
    except NotImplementedError as exc:
        return {"status": "not implemented", "message": str(exc) or "NotImplementedError"}
    except NotProvided as exc:
        return {"status": "not provided", "message": str(exc)}
    except MemoryError:
        return {
            "status": "error",
            "message": f"ran out of memory (the cap is {job['limits']['memory_bytes'] >> 20} MB)",
        }
    except SystemExit as exc:
        return {
            "status": "error",
            "message": f"the code called sys.exit({exc.code!r}){where(exc)}; "
            "library code must return values, not exit",
        }
    except RecursionError as exc:
        return {"status": "error", "message": f"RecursionError: {exc}{where(exc)}"}
    except Exception as exc:
        return {"status": "error", "message": f"{type(exc).__name__}: {exc}{where(exc)}"}
    seconds = time.monotonic() - start
    record = {"status": "ok", "values": values, "none": nones, "seconds": round(seconds, 3)}
    save_outputs(Path(job["jobdir"]), check["index"], record, arrays)
    return record


class _Blocked(importlib.abc.MetaPathFinder):
    """Refuses modules the submission must not import (the references, the oracle)."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, name, path=None, target=None):
        if any(name == n or name.startswith(n + ".") for n in self.names):
            raise ImportError(f"{name} is not available to the submission's code")
        return None


def _hide_answers(job: dict) -> None:
    """After the tasks are imported: the oracle and the references cannot be imported."""
    blocked = ["grader.oracle", "grader.q4_reference"]
    if job.get("package") != "solutions":
        blocked.append("solutions")
    for name in [m for m in sys.modules if m in blocked]:
        del sys.modules[name]
    grader = sys.modules.get("grader")
    if grader is not None and hasattr(grader, "oracle"):
        delattr(grader, "oracle")
    sys.meta_path.insert(0, _Blocked(blocked))


def _copy_submission(source: str, folder: str) -> None:
    """Copy the (read-only) submission into the scratch folder, files and folders only."""
    import shutil

    shutil.copytree(source, folder, symlinks=True, ignore_dangling_symlinks=True)


def main(jobdir: str) -> int:
    jobdir = Path(jobdir)
    job = json.loads((jobdir / "job.json").read_text(encoding="utf-8"))
    set_limits(job["limits"])
    progress_fd = int(job["progress_fd"])
    if job.get("source"):
        _copy_submission(job["source"], job["folder"])
    sys.path.insert(0, job["root"])
    from grader import shims
    from grader.implementation import Implementation

    shims.install()
    for check in job["checks"]:  # the grader's task modules, before any submission code
        importlib.import_module(check["task"].partition(":")[0])
    _hide_answers(job)
    if job.get("folder"):  # after the grader's own modules: a student's grader.py shadows none
        sys.path.insert(0, job["folder"])
    impl = Implementation(job["spec"], package=job.get("package"), folder=job.get("folder"))
    if impl.folder is not None:
        impl.folder = Path(impl.folder)
    for check in job["checks"]:
        index = check["index"]
        os.write(progress_fd, f"start {index}\n".encode())
        try:
            record = run_check(job, check, impl)
        except BaseException as exc:  # the grader's own task failed around the submission
            record = {"status": "error", "message": f"{type(exc).__name__}: {exc}{where(exc)}"}
            save_outputs(jobdir, index, record, {})
        record["shims"] = sorted(set(impl.shims) | set(shims.USED))
        (jobdir / f"out_{index}.json").write_text(json.dumps(record), encoding="utf-8")
        os.write(progress_fd, f"done {index}\n".encode())
        _wait_for_the_grader(job)
    return 0


def _wait_for_the_grader(job: dict) -> None:
    """Wait until the grader has taken the check's files (its acknowledgement on the
    ``ack_fd`` pipe): nothing the submission runs later (the next check, an ``atexit``
    handler) can change them. No acknowledgement (the grader is gone): stop here."""
    ack_fd = job.get("ack_fd")
    if ack_fd is None:
        return
    try:
        got = os.read(int(ack_fd), 1)
    except OSError:
        got = b""
    if not got:
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
