"""The pytest option ``--impl``, registered before pytest reads its command line.

pytest loads the ``conftest.py`` of every folder named on its command line before it knows
the options the project's own ``conftest.py`` adds: ``pytest --impl DIR`` (with a space)
would take ``DIR`` for a test path and run ``DIR/conftest.py``, the submission's code, in
the tester's process. Registered here, as a plugin (the ``pytest11`` entry point of this
project, ``-p grader.pytest_plugin``, ``PYTEST_PLUGINS`` or the root conftest's
``pytest_plugins``), ``--impl`` is known from the start and ``DIR`` is its value.

``pytest --impl DIR`` is a self-check for students and instructors, not a grade: it imports
the submission in the tester's own process, without the grader's sandbox or caps. Grades
come from ``python -m grader``.
"""

IMPL_HELP = (
    "implementation to test: kata (default), solutions, or a folder in the handout's flat "
    "layout (nn.py, util.py ...). Env: NRK_IMPL. A self-check, not a grade: the code runs in "
    "this process, unsandboxed; grade with `python -m grader --impl DIR`."
)


def pytest_addoption(parser):
    parser.getgroup("nn-recognition-kata").addoption("--impl", default=None, help=IMPL_HELP)
