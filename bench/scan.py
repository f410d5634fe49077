"""Benchmark: `repolens scan` against the same analyzers run one after another.

    python bench/scan.py [--package django==5.1.4]

Builds a corpus from a real project's source distribution (downloaded from
PyPI once, kept in bench/.corpus), then measures in one run:
  1. baseline: ruff, bandit, detect-secrets, lizard, semgrep, oxlint, shellcheck,
     hadolint and zizmor run one after another on the command line, as a CI
     script would;
  2. `repolens scan` cold (empty result cache);
  3. `repolens scan` again after changing one file (three times, the median shown).
Prints wall time, peak RSS (the whole process tree) and the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import corpora

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RULES = HERE.parent / "src" / "repolens" / "analyzers" / "rules"
QUIET_ENV = {"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}


@dataclass
class Measure:
    name: str
    seconds: float
    peak_rss_mb: float


def tree_rss_kb(root: int) -> int:
    """Resident memory of ROOT and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    family = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return sum(rss.get(pid, 0) for pid in family)


def measure(
    name: str, argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0, 1)
) -> Measure:
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(process.pid))
            done.wait(0.25)  # sampling costs CPU too: a quarter second keeps it under 5%

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    # The largest single process, which a sample between two ticks may have missed.
    peak = max(peak, usage.ru_maxrss)
    if process.returncode not in ok:
        raise SystemExit(f"{name} failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return Measure(name, seconds, peak / 1024)


def baseline(tree: Path, env: dict[str, str]) -> list[Measure]:
    commands = {
        "ruff": [str(BIN / "ruff"), "check", "--isolated", "--no-cache", "--exit-zero",
                 "--output-format=json", "--select", "E9,F,B,PLE", "."],
        "bandit": [str(BIN / "bandit"), "-r", ".", "-f", "json", "-q", "--skip", "B101"],
        "detect-secrets": [str(BIN / "detect-secrets"), "scan", "--all-files", "."],
        "lizard": [str(BIN / "lizard"), "--csv", "."],
        "semgrep": [str(BIN / "semgrep"), "scan", "--json", "--quiet", "--metrics=off",
                    "--disable-version-check", "--config", str(RULES), "."],
        "oxlint": [str(BIN / "oxlint"), "--format", "json", "."],
        "shellcheck": ["sh", "-c", f"find . -name '*.sh' -print0 | xargs -0 -r "
                       f"{BIN / 'shellcheck'} --format json1 || [ $? -eq 123 ]"],
        "hadolint": ["sh", "-c", f"find . -name 'Dockerfile*' -print0 | xargs -0 -r "
                     f"{BIN / 'hadolint'} --format json --no-fail || [ $? -eq 123 ]"],
        # zizmor exits 3 when a project has no workflow to audit.
        "zizmor": ["sh", "-c", f"{BIN / 'zizmor'} --offline --format json --no-exit-codes . "
                   "|| [ $? -eq 3 ]"],
    }  # fmt: skip
    return [measure(name, argv, tree, env) for name, argv in commands.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="django==5.1.4")
    parser.add_argument("--corpus-dir", type=Path, default=HERE / ".corpus")
    args = parser.parse_args()

    tree = corpora.pypi(args.package, args.corpus_dir)
    env = {**os.environ, **QUIET_ENV}
    steps = baseline(tree, env)
    base = Measure("baseline (sequential CLIs)", sum(m.seconds for m in steps),
                   max(m.peak_rss_mb for m in steps))  # fmt: skip

    with tempfile.TemporaryDirectory() as scratch:
        scan_env = {**env, "REPOLENS_CACHE_DIR": str(Path(scratch) / "cache")}
        scan = [str(BIN / "repolens"), "scan", str(tree), "--quiet", "--format", "json",
                "--out", str(Path(scratch) / "out")]  # fmt: skip
        cold = measure("repolens scan, cold", scan, tree, scan_env, ok=(0,))
        changed = tree / "django" / "utils" / "text.py"
        original = changed.read_text()
        rescans = []
        try:
            for round_ in range(3):  # a new change each time, so each rescan has work to do
                changed.write_text(original + f"\n\ndef _bench_marker():\n    return {round_}\n")
                rescans.append(measure("rescan", scan, tree, scan_env, ok=(0,)))
        finally:
            changed.write_text(original)
        rescans.sort(key=lambda m: m.seconds)
        warm = Measure("repolens scan, one file changed (median of 3)", rescans[1].seconds,
                       max(m.peak_rss_mb for m in rescans))  # fmt: skip

    files = int(subprocess.check_output(["git", "ls-files"], cwd=tree, text=True).count("\n"))
    print(f"corpus: {args.package}, {files} files; machine: {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")  # fmt: skip
    print("| run | wall (s) | × baseline | peak RSS (MB) |")
    print("| --- | ---: | ---: | ---: |")
    for m in steps:
        print(f"| baseline: {m.name} | {m.seconds:.1f} | | {m.peak_rss_mb:.0f} |")
    for m in (base, cold, warm):
        print(f"| {m.name} | {m.seconds:.2f} | {m.seconds / base.seconds:.3f} "
              f"| {m.peak_rss_mb:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
