"""The machine and its BLAS: CPU, peak FLOP rate estimate, numpy's BLAS (threadpoolctl),
PyTorch's, thread control, and the OpenBLAS settings the benchmark command runs without.

The peak is an estimate from ``/proc/cpuinfo``: usable cores x clock x floating-point
operations per cycle and core, the latter from the widest vector FMA the CPU advertises
(AVX-512, AVX2 + FMA, AVX, SSE2), assuming two vector FMA units per core (Haswell and later,
Zen 2 and later; Zen 1 has 128-bit units and Zen 4 splits 512-bit operations in two, both
taken into account). It is the physical limit, never reached by a real program.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
from pathlib import Path

# Set in the environment, these change which OpenBLAS kernel runs (CORETYPE) or how it blocks
# (L2_SIZE); the benchmark command reports them and runs without them (the tests keep them).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_environment(env):
    """The environment without the OpenBLAS overrides, and what was removed.

    Parameters
    ----------
    env : mapping of str to str

    Returns
    -------
    cleaned : dict
        ``env`` less ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``.
    removed : dict
        The removed settings and their values (empty when none was set).
    """
    removed = {k: env[k] for k in OPENBLAS_OVERRIDES if k in env}
    cleaned = {k: v for k, v in env.items() if k not in removed}
    return cleaned, removed


# ----------------------------------------------------------------------------- the CPU
def _cpuinfo(path="/proc/cpuinfo"):
    """The first processor's fields of ``/proc/cpuinfo`` and every ``cpu MHz`` value."""
    fields, mhz = {}, []
    try:
        text = Path(path).read_text()
    except OSError:
        return fields, mhz
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "cpu MHz":
            mhz.append(float(value))
        fields.setdefault(key, value)
    return fields, mhz


def usable_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _clock_ghz(fields, mhz):
    """The clock in GHz, and where it came from."""
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_freq.exists():
        return round(int(max_freq.read_text()) / 1e6, 2), "cpufreq cpuinfo_max_freq"
    if mhz:
        return round(
            max(mhz) / 1e3, 2
        ), "/proc/cpuinfo 'cpu MHz' (nominal; boost clocks not counted)"
    found = re.search(r"([\d.]+)\s*GHz", fields.get("model name", ""))
    if found:
        return float(found.group(1)), "the model name"
    return None, "unknown"


def flops_per_cycle(flags, vendor="", family=0, model=0):
    """Double-precision floating-point operations per cycle and core (an FMA counts 2).

    Parameters
    ----------
    flags : set of str
        ``/proc/cpuinfo`` flags.
    vendor : str
        ``GenuineIntel`` or ``AuthenticAMD``.
    family, model : int
        CPU family and model numbers.

    Returns
    -------
    per_cycle : int
        Single precision does twice as many.
    how : str
        The vector extension and the assumption made.
    """
    amd = vendor == "AuthenticAMD"
    if "avx512f" in flags:
        if amd and family == 25:
            return 16, "AVX-512 on Zen 4 (two 256-bit FMA units: 512-bit ops split in two)"
        return 32, "AVX-512 FMA, two 512-bit FMA units assumed"
    if "avx2" in flags and "fma" in flags:
        if amd and family == 23 and model < 0x30:
            return 8, "AVX2 FMA on Zen 1 (two 128-bit FMA units)"
        return 16, "AVX2 FMA, two 256-bit FMA units"
    if "avx" in flags:
        return 8, "AVX, one 256-bit add and one multiply per cycle"
    return 4, "SSE2, one 128-bit add and one multiply per cycle"


def machine():
    """The CPU, its usable cores, the clock and the peak FLOP rate estimate.

    Returns
    -------
    info : dict
        ``cpu``, ``cores``, ``logical_cpus``, ``ghz``, ``clock_source``, ``vector``,
        ``peak_gflops`` (``{'float64': ..., 'float32': ...}``, None when the clock is
        unknown), ``peak_how``, ``python``, ``platform``.
    """
    fields, mhz = _cpuinfo()
    flags = set(fields.get("flags", "").split())
    vendor = fields.get("vendor_id", "")
    family = int(fields.get("cpu family", "0") or 0)
    model = int(fields.get("model", "0") or 0)
    per_cycle, vector = flops_per_cycle(flags, vendor, family, model)
    cores = usable_cores()
    ghz, clock_source = _clock_ghz(fields, mhz)
    peak = None
    if ghz:
        fp64 = cores * ghz * per_cycle
        peak = {"float64": round(fp64, 1), "float32": round(2 * fp64, 1)}
    how = (
        f"{cores} cores x {ghz or '?'} GHz ({clock_source}) x {per_cycle} float64 FLOPs/cycle "
        f"({vector}); float32 twice that"
    )
    return {
        "cpu": f"{fields.get('model name', platform.processor() or 'unknown')} ({vendor} "
        f"family {family}, model {model})",
        "cores": cores,
        "logical_cpus": os.cpu_count(),
        "ghz": ghz,
        "clock_source": clock_source,
        "vector": vector,
        "peak_gflops": peak,
        "peak_how": how,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------- the BLAS
def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def numpy_blas():
    """Which BLAS numpy uses, its kernel (core type) and thread count.

    Uses threadpoolctl when installed; else numpy's build configuration (no thread count).

    Returns
    -------
    info : dict
        ``library`` (e.g. ``openblas``), ``version``, ``kernel`` (OpenBLAS's core type, e.g.
        ``Haswell``), ``threads``, ``threading_layer``, ``source``.
    """
    import numpy as np

    tpc = _threadpoolctl()
    if tpc is not None:
        for pool in tpc.threadpool_info():
            if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
                return {
                    "library": pool.get("internal_api"),
                    "version": pool.get("version"),
                    "kernel": pool.get("architecture"),
                    "threads": pool.get("num_threads"),
                    "threading_layer": pool.get("threading_layer"),
                    "source": "threadpoolctl " + tpc.__version__,
                }
    blas = {}
    with contextlib.suppress(Exception):
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {
        "library": blas.get("name", "unknown"),
        "version": blas.get("version"),
        "kernel": None,
        "threads": None,
        "threading_layer": None,
        "source": "numpy.show_config (install threadpoolctl for the kernel and threads)",
    }


def torch_blas():
    """PyTorch's version, BLAS and thread count (``None`` when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return None
    config = torch.__config__.show()
    library = "unknown"
    for line in config.splitlines():
        if "Math Kernel Library" in line or "OpenBLAS" in line:
            library = line.strip(" -")
            break
    else:
        found = re.search(r"BLAS_INFO=(\w+)", config)
        if found:
            library = found.group(1)
    return {"version": torch.__version__, "library": library, "threads": torch.get_num_threads()}


@contextlib.contextmanager
def threads(n):
    """Run the block with ``n`` threads for numpy's BLAS (threadpoolctl) and for PyTorch.

    ``n=None`` leaves both as they are. Without threadpoolctl numpy's BLAS keeps its count.
    """
    if n is None:
        yield
        return
    torch = None
    with contextlib.suppress(ImportError):
        import torch
    before = torch.get_num_threads() if torch is not None else None
    tpc = _threadpoolctl()
    limiter = tpc.threadpool_limits(n, user_api="blas") if tpc else contextlib.nullcontext()
    try:
        with limiter:
            if torch is not None:
                torch.set_num_threads(n)
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def can_set_threads():
    """Whether numpy's BLAS threads can be set at run time (threadpoolctl installed)."""
    return _threadpoolctl() is not None


def records(context):
    """The BLAS section of ``results.json``: numpy's and torch's BLAS threads, the peak."""
    from .common import result

    out = []
    blas = context["numpy_blas"]
    note = f"{blas['library']} {blas['version']} kernel {blas['kernel']} ({blas['source']})"
    if blas["threads"] is not None:  # known through threadpoolctl only
        out.append(result("blas.numpy.threads", blas["threads"], "threads", note=note))
    torch = context.get("torch_blas")
    if torch:
        out.append(result("blas.torch.threads", torch["threads"], "threads", note=torch["library"]))
    peak = context["machine"]["peak_gflops"]
    if peak:
        for dtype, value in peak.items():
            out.append(
                result(
                    f"machine.peak.{dtype}",
                    value,
                    "GFLOP/s",
                    note=context["machine"]["peak_how"],
                )
            )
    return out
