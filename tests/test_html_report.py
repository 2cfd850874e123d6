"""The grader's HTML report: one self-contained page, escaped text, figures that decode.

Fast tests read the HTML as text. The browser tests (slow tier: they start a browser) open it
in headless Chromium, skipped when none is installed (CI installs it), and read back the
rendered DOM and a screenshot.
"""

import base64
import re
import shutil
import subprocess

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.figure import Figure

from grader.check import Check
from grader.grade import Grade
from grader.html_report import figures_by_question, write_html
from grader.questions import QUESTIONS
from grader.sandbox import Limits
from grader.scoring import CheckResult, score_question

BY_ID = {q.id: q for q in QUESTIONS}
PAYLOAD = "<script>document.body.setAttribute('data-pwned', '1')</script>"
IMG_PAYLOAD = "<img src=x onerror=\"document.body.setAttribute('data-pwned', '2')\">"
MAGENTA = (255, 0, 255)
BROWSER = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
needs_browser = pytest.mark.skipif(
    BROWSER is None,
    reason="no chromium / chromium-browser / google-chrome on PATH "
    "(install it: apt-get install -y chromium)",
)


def _task(sub, inputs):  # never run: the results below are made by hand
    return {}


def _judge(inputs, out):
    return None


def _check(qid, name, weight=1.0, budget=60.0):
    return Check(qid, name, weight, _task, _judge, budget=budget)


def _figure(path, color):
    fig = Figure(figsize=(2, 1.5), dpi=60)  # no pyplot: no GUI backend needed
    ax = fig.add_subplot()
    ax.fill_between([0, 1], [0, 0], [1, 1], color=np.array(color) / 255)
    ax.plot([0, 1], [0.2, 0.8], "k")
    fig.savefig(path)
    return path


def _grade(out_dir, label="alice_hw5.zip"):
    """A grade made by hand: passed, partial, written, not implemented and not gradable."""
    q222, q31, q43, q531, q613 = (BY_ID[i] for i in ("2.2.2", "3.1", "4.3", "5.3.1", "6.1.3"))
    scores = [
        score_question(
            q222,
            [
                CheckResult(_check("2.2.2", "softmax of a batch", 2), "passed", "", 0.4),
                CheckResult(
                    _check("2.2.2", "stable for large x", 1),
                    "failed",
                    f"softmax(x) has NaN values. {PAYLOAD} {IMG_PAYLOAD}\nsubtract the max",
                    0.3,
                ),
            ],
        ),
        score_question(
            q31, [CheckResult(_check("3.1", "training accuracy", 1, 300), "passed", "", 41.0)]
        ),
        score_question(q43, [CheckResult(_check("4.3", "boxes drawn", 1), "passed", "", 2.0)]),
        score_question(
            q531,
            [CheckResult(_check("5.3.1", "reconstructions", 1), "not implemented", "Q5.3.1 x")],
        ),
        score_question(
            q613,
            [CheckResult(_check("6.1.3", "CIFAR-10", 1), "not gradable", "CIFAR-10 is absent")],
        ),
    ]
    figures = [
        _figure(out_dir / "q3_1_curves.png", MAGENTA),
        _figure(out_dir / "q4_3_01_list.png", MAGENTA),
    ]
    return Grade(
        label,
        scores,
        seconds=47.5,
        shims=["np.float"],
        violations=["nn.py imports sklearn"],
        figures=figures,
        limits=Limits(time_factor=2.0),
    )


# ------------------------------------------------------------------ fast: the HTML as text
def test_the_page_is_self_contained_with_figures_embedded(tmp_path):
    grade = _grade(tmp_path)
    page = write_html(grade, tmp_path / "out").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == 2
    for src, figure in zip(sources, grade.figures):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == figure.read_bytes()
    # nothing fetched from anywhere: no links to stylesheets, scripts or fonts
    assert not re.search(r"<link\b|<script\b[^>]*\bsrc=|@import|url\(|https?://", page)
    # the figures still show once the page is moved away from them
    moved = tmp_path / "elsewhere.html"
    shutil.move(tmp_path / "out" / "report.html", moved)
    for figure in grade.figures:
        figure.unlink()
    assert moved.read_text(encoding="utf-8").count("data:image/png;base64,") == 2


def test_header_table_and_sections_say_what_the_grade_is(tmp_path):
    page = write_html(_grade(tmp_path), tmp_path).read_text(encoding="utf-8")
    assert "Grading alice_hw5.zip" in page
    # core points and extra credit apart, as in the terminal table
    assert "Total: 7/8 (+ 0/5 extra credit, marked *)" in page
    assert "Graded in 47.5 s" in page
    for status in ("passed", "partial", "written", "not implemented", "not gradable"):
        assert f'class="status s-{status.replace(" ", "-")}">{status}<' in page
    # the check's time against its budget times the grader's time factor (300 s x 2)
    assert "41.0 s of 600 s" in page
    # the notes: shims and the library rule
    assert "np.float" in page and "nn.py imports sklearn" in page
    assert "Time budgets:" in page


def test_each_question_shows_which_checks_carry_its_points_and_which_are_feedback(tmp_path):
    q42 = BY_ID["4.2"]
    light = Check("4.2", "pages under uneven light", 1, _task, _judge, feedback=True)
    score = score_question(
        q42,
        [
            CheckResult(_check("4.2", "boxes on the four photos", 3), "passed", "", 1.0),
            CheckResult(_check("4.2", "bw on the photos", 1), "failed", "bw is inverted", 0.5),
            CheckResult(light, "failed", "missed 40% of the letters", 2.0),
        ],
    )
    page = write_html(Grade("x", [score]), tmp_path).read_text(encoding="utf-8")
    section = page[page.index('<section id="q4_2">') :]
    points_at = section.index("checks that carry the points")
    feedback_at = section.index("feedback only: no points")
    assert points_at < section.index("boxes on the four photos") < feedback_at
    assert feedback_at < section.index("pages under uneven light")
    row = re.search(r'<tr class="feedback">(.*?)</tr>', section, re.S).group(1)
    assert "pages under uneven light" in row and "feedback, no points" in row
    assert "7.5/7.5" in section and "0/2.5" in section
    # the score table's reason counts them too
    assert "(feedback, no points: 0/1 passed)" in page
    # a question without feedback checks has no headings
    plain = write_html(_grade(tmp_path), tmp_path / "plain").read_text(encoding="utf-8")
    assert "checks that carry the points" not in plain


def test_a_written_question_whose_code_is_missing_is_not_shown_as_written(tmp_path):
    q43 = BY_ID["4.3"]
    missing = CheckResult(
        _check("4.3", "boxes drawn", 1), "not provided", "not submitted: run_q4.py"
    )
    page = write_html(Grade("x", [score_question(q43, [missing])]), tmp_path).read_text(
        encoding="utf-8"
    )
    assert 'class="status s-not-submitted">not submitted<' in page
    assert 'class="status s-written"' not in page and "not scored" in page


def test_a_submissions_script_in_a_message_or_label_is_escaped(tmp_path):
    page = write_html(_grade(tmp_path, label="<b>x</b>" + PAYLOAD), tmp_path).read_text(
        encoding="utf-8"
    )
    assert PAYLOAD not in page and IMG_PAYLOAD not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;document.body.setAttribute(&#x27;data-pwned&#x27;" in page
    assert "&lt;img src=x onerror=" in page
    # the page's one script is its own (and the CSP allows no other)
    assert page.count("<script>") == 1


def test_figures_are_grouped_under_the_longest_question_id_in_their_name():
    ids = ["3.1", "4.3", "5.3.1", "5.3.2", "6.1.2"]
    names = [
        "q3_1_curves.png",
        "q4_3_01_list.png",
        "q5_3_1_reconstructions.png",
        "q6_1_2_curves.png",
        "summary.png",
    ]
    grouped, other = figures_by_question(names, ids)
    assert {k: [p.name for p in v] for k, v in grouped.items()} == {
        "3.1": ["q3_1_curves.png"],
        "4.3": ["q4_3_01_list.png"],
        "5.3.1": ["q5_3_1_reconstructions.png"],
        "6.1.2": ["q6_1_2_curves.png"],
    }
    assert [p.name for p in other] == ["summary.png"]


# ------------------------------------------------------------------ headless Chromium
def _chromium(profile, *args):
    cmd = [
        BROWSER,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report, its DOM as Chromium built it, and a screenshot of it."""
    tmp = tmp_path_factory.mktemp("html_report")
    grade = _grade(tmp)
    report = write_html(grade, tmp / "out")
    url = report.resolve().as_uri()
    dom = _chromium(tmp / "profile", "--dump-dom", url)
    shot = tmp / "shot.png"
    _chromium(tmp / "profile", f"--screenshot={shot}", "--window-size=1200,2400", url)
    return grade, dom, shot


@pytest.mark.slow
@needs_browser
def test_chromium_renders_the_score_table_and_decodes_every_figure(rendered):
    grade, dom, _ = rendered
    body = re.search(r"<body[^>]*>", dom).group(0)
    loaded = re.search(r'data-loaded-images="(\d+)"', body)
    assert loaded, f"the page's load script did not run: {body}"
    assert int(loaded.group(1)) == len(grade.figures) == 2
    assert "data-pwned" not in body, "a script from a check message ran"
    table = re.search(r"<table class=\"scores\">.*?</table>", dom, re.S).group(0)
    rows = re.findall(r"<tr class=\"row-[^\"]+\">(.*?)</tr>", table, re.S)
    assert len(rows) == len(grade.scores)
    assert "Q5.3.1*" in rows[3] and "not implemented" in rows[3]
    assert "2/3" in rows[0] and "partial" in rows[0] and "1/2 checks passed" in rows[0]
    # the payload is shown as text, not run
    assert "&lt;script&gt;document.body.setAttribute" in dom


@pytest.mark.slow
@needs_browser
def test_chromium_screenshot_shows_the_page_styled_with_its_figures(rendered):
    _, _, shot = rendered
    pixels = (mpimg.imread(shot)[..., :3] * 255).round().astype(int)
    assert pixels.std() > 10, "the screenshot is blank"
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]

    def shown(r, g, b):
        return bool((packed == (r << 16) | (g << 8) | b).any())

    # the figures' magenta fill and the 'passed' badge's green (#d8f5d8) are on screen
    assert shown(*MAGENTA), "no figure is visible in the screenshot"
    assert shown(0xD8, 0xF5, 0xD8), "the status colours are not applied"
