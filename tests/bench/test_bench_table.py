"""The bench's bookkeeping: what a wrk run's errors were, and the one table's verdicts."""

from __future__ import annotations

from bench import readme
from bench.table import Row, failed, markdown, render
from bench.wrk import Run, median_run, parse

WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:8080/products/1
  1 threads and 64 connections
  Latency Distribution
     50%    7.81ms
     99%   29.02ms
  62880 requests in 8.00s, 40.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 14
Requests/sec:   7860.12
hspm-status 200 62866
hspm-status 503 12
hspm-status 404 2
"""


def test_a_run_says_what_its_errors_were() -> None:
    run = parse(WRK_OUTPUT)
    assert (run.rps, run.p50_ms, run.p99_ms) == (7860.12, 7.81, 29.02)
    assert run.problems == {"503": 12, "404": 2, "read": 2, "timeout": 3}
    assert run.errors == 19
    assert run.statuses == "404×2 503×12 read×2 timeout×3"


def test_a_clean_run_has_no_errors() -> None:
    clean = WRK_OUTPUT.replace("read 2", "read 0").replace("timeout 3", "timeout 0")
    clean = clean.replace("hspm-status 503 12\n", "").replace("hspm-status 404 2\n", "")
    assert parse(clean).errors == 0


def test_the_median_run_keeps_every_runs_errors() -> None:
    runs = [Run(100, 1, 2, 0), Run(300, 3, 4, 2, {"503": 2}), Run(200, 2, 3, 1, {"timeout": 1})]
    median = median_run(runs)
    assert (median.rps, median.p50_ms) == (200, 2)
    assert median.problems == {"503": 2, "timeout": 1} and median.errors == 3


def test_targets_are_ratios_floors_or_ceilings() -> None:
    ratio = Row("hop", 3500, "req/s", baseline=5000, baseline_name="direct", target=0.70)
    assert ratio.ratio == 0.7 and ratio.met is True
    assert Row("hop", 3400, "req/s", baseline=5000, target=0.70).met is False
    assert Row("throughput", 65, "builds/min", target=60).met is True
    assert Row("throughput", 59, "builds/min", target=60).met is False
    assert Row("p99", 49.9, "ms", target=50, lower_is_better=True).met is True
    assert Row("p99", 50.0, "ms", target=50, lower_is_better=True).met is False
    assert Row("informative", 1, "ms").met is None


def test_the_table_names_missed_targets_and_errors() -> None:
    rows = [
        Row("product read", 3000, "req/s", baseline=7800, baseline_name="bare", target=0.60),
        Row("search p99", 40, "ms", target=50, lower_is_better=True, errors=3, statuses="503×3"),
    ]
    lines: list[str] = []
    render(rows, lines.append)
    read_line = next(line for line in lines if line.startswith("product read"))
    search_line = next(line for line in lines if line.startswith("search p99"))
    assert "0.38" in read_line and "MISSED" in read_line and read_line.endswith(" 0")
    assert " met " in search_line and search_line.endswith("3 ERRORS 503×3")
    assert failed(rows) == [rows[1]]


def test_the_readme_table_names_when_and_where_and_replaces_only_its_own_section(tmp_path) -> None:
    rows = [
        Row("product read", 3948, "req/s", 3876, "bare", target=0.6),
        Row("search p99", 61.0, "ms", target=50, lower_is_better=True, errors=2, statuses="503×2"),
    ]
    text = markdown(rows, "2026-12-03 14:00 UTC", "Some CPU, 2 cores")
    assert text.splitlines()[0] == "Measured 2026-12-03 14:00 UTC on Some CPU, 2 cores."
    assert "| product read | 3,948 req/s | 3,876 bare | 1.02 | ratio >= 0.60 | met | 0 |" in text
    assert "| search p99 | 61.00 ms |  |  | < 50 ms | **missed** | 2 503×2 |" in text
    page = tmp_path / "README.md"
    page.write_text(f"# Title\n\n{readme.START}\nold table\n{readme.END}\n\nAfter.\n")
    assert readme.update(text, page)
    assert page.read_text() == f"# Title\n\n{readme.START}\n{text}\n{readme.END}\n\nAfter.\n"
    page.write_text("no markers\n")
    assert not readme.update(text, page) and page.read_text() == "no markers\n"
    assert "cores" in readme.machine()
