#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image; the zip's content
# is then in /autograder/source. It installs Python 3 (when the base image lacks pip) and the
# project's dependencies, PyTorch's extra included, from the project's own pyproject.toml.
# AUTOGRADER_ROOT (default /autograder) lets the same script run elsewhere.
set -euo pipefail
SOURCE="${AUTOGRADER_ROOT:-/autograder}/source"

if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-pip python3-venv
fi
python3 --version

# bubblewrap: the grader runs each question's submission process inside it (namespaces, a
# read-only file system). Where the container forbids user namespaces the grader still runs,
# in reduced isolation, and says so in every report.
if ! command -v bwrap >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap \
        || echo "setup.sh: bubblewrap could not be installed; grading runs in reduced isolation"
fi

# Ubuntu 24.04's Python refuses system-wide installs (PEP 668); this image is ours alone.
# Older pips ignore the setting.
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The project and its dependencies (numpy, scipy, scikit-image, matplotlib, tqdm, PyWavelets)
# with the torch extra. The CPU wheels of PyTorch: Gradescope has no GPU, and the default
# wheels bring gigabytes of CUDA libraries.
python3 -m pip install --extra-index-url https://download.pytorch.org/whl/cpu "$SOURCE[torch]"

# Fail the image build now, not at each submission, when something is missing.
cd "$SOURCE"
python3 -c "import numpy, scipy, skimage, matplotlib, pywt, tqdm, torch, torchvision; \
import coursedata, grader.grade; print('autograder ready:', coursedata.nist36_source())"
