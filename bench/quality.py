"""Benchmark: are the findings right? Real, well-kept projects and a corpus of
planted weaknesses, in one run.

    python bench/quality.py [--only flask,express] [--sample FILE]

1. Real projects, fixed versions from the package registries (Flask, Django and
   requests from PyPI; Express and tRPC's server, TypeScript, from npm), each
   scanned cold with every analyzer. Per project: production findings by
   severity, findings elsewhere (tests, examples, docs), findings merged across
   engines, inline suppressions, score and grade, seconds. Target: B or better.
   The production high and critical findings are written to --sample, for a
   person to read and judge (bench/README.md keeps the verdicts).
2. Recall: a project written here with weaknesses planted in Python,
   JavaScript/TypeScript, Go, Java, shell, Dockerfiles and workflows, each a
   known CWE on a known line. Target: at least 90 % found, and a grade of D or
   worse: the score must tell a careless repository from a careful one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import corpora

HERE = Path(__file__).resolve().parent
PROJECTS = [("pypi", "flask==3.1.0"), ("pypi", "django==5.1.4"), ("pypi", "requests==2.32.3"),
            ("npm", "express@4.21.2"), ("npm", "@trpc/server@11.0.0")]  # fmt: skip
SEVERITIES = ("critical", "high", "medium", "low", "info")
# Weaknesses that are one for this check (as repolens merges them).
FAMILY = {259: 798, 321: 798, 328: 327, 20: 502, 73: 22}


def scanned(tree: Path, scratch: Path) -> tuple[dict[str, Any], float]:
    out = scratch / tree.name
    env = {**os.environ, "REPOLENS_CACHE_DIR": str(scratch / "cache"),
           "REPOLENS_DATA_DIR": str(scratch / "data")}  # fmt: skip
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "repolens", "scan", str(tree), "--no-cache", "--quiet",
                    "--format", "json", "--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    seconds = time.perf_counter() - started
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return report, seconds


def row(name: str, report: dict[str, Any], seconds: float) -> str:
    production = Counter(f["severity"] for f in report["findings"] if f["role"] == "source")
    elsewhere = sum(1 for f in report["findings"] if f["role"] != "source")
    by_severity = " / ".join(str(production.get(s, 0)) for s in SEVERITIES)
    suppressed = sum(report.get("suppressed", {}).values())
    score = report["score"]
    return (f"| {name} | {report['inventory']['files']} | {by_severity} | {elsewhere} | "
            f"{report.get('merged', 0)} | {suppressed} | {score['score']} {score['grade']} | "
            f"{seconds:.1f} |")  # fmt: skip


def sample(name: str, report: dict[str, Any]) -> list[str]:
    serious = [f for f in report["findings"]
               if f["role"] == "source" and f["severity"] in ("critical", "high")]  # fmt: skip
    return [f"- {name} `{f['path']}:{f['line']}` {f['severity']} "
            f"{', '.join(f['evidence']) or f['analyzer'] + '/' + f['rule_id']}: {f['title']}"
            for f in serious]  # fmt: skip


PLANTED: list[tuple[str, str, int]] = []  # (path, code, CWE)


def plant(path: str, cwe: int, *lines: str) -> None:
    """A file whose line that says PLANTED carries weakness CWE."""
    PLANTED.append((path, "\n".join(lines) + "\n", cwe))


def corpus_files() -> dict[str, str]:
    return {path: code for path, code, _ in PLANTED}


def expected() -> list[tuple[str, int, int]]:
    """(path, line, CWE) of every planted weakness: the line that says PLANTED,
    or the one after a comment that says PLANTED-BELOW (Dockerfiles have no
    comments at the end of a line)."""
    found = []
    for path, code, cwe in PLANTED:
        (line,) = [n + ("PLANTED-BELOW" in text)
                   for n, text in enumerate(code.splitlines(), 1) if "PLANTED" in text]  # fmt: skip
        found.append((path, line, cwe))
    return found


def _planted() -> None:
    py = "app/{}.py"
    plant(py.format("eval"), 95, "def run(expr):", "    return eval(expr)  # PLANTED")
    plant(py.format("exec"), 95, "def run(code):", "    exec(code)  # PLANTED")
    plant(
        py.format("shell"),
        78,
        "import subprocess",
        "",
        "",
        "def run(cmd):",
        "    subprocess.call(cmd, shell=True)  # PLANTED",
    )
    plant(
        py.format("system"),
        78,
        "import os",
        "",
        "",
        "def run(cmd):",
        "    os.system(cmd)  # PLANTED",
    )
    plant(
        py.format("pickled"),
        502,
        "import pickle",
        "",
        "",
        "def load(blob):",
        "    return pickle.loads(blob)  # PLANTED",
    )
    plant(
        py.format("yamlload"),
        502,
        "import yaml",
        "",
        "",
        "def load(text):",
        "    return yaml.load(text)  # PLANTED",
    )
    plant(
        py.format("md5"),
        327,
        "import hashlib",
        "",
        "",
        "def sign(data):",
        "    return hashlib.md5(data).hexdigest()  # PLANTED",
    )
    plant(
        py.format("sha1"),
        327,
        "import hashlib",
        "",
        "",
        "def sign(data):",
        "    return hashlib.sha1(data).hexdigest()  # PLANTED",
    )
    plant(
        py.format("tls"),
        295,
        "import requests",
        "",
        "",
        "def fetch(url):",
        "    return requests.get(url, verify=False, timeout=5)  # PLANTED",
    )
    plant(py.format("password"), 798, 'DB_PASSWORD = "Sup3r-Secret-Pa55word-2024"  # PLANTED')
    planted_key = (
        'AWS_ACCESS_KEY_ID = "AKIAZ7QW3RTY5UIO9PLK"  # PLANTED'  # pragma: allowlist secret
    )
    plant(py.format("awskey"), 798, planted_key)
    plant(
        py.format("sql"),
        89,
        "def find(cursor, name):",
        "    cursor.execute(\"SELECT * FROM users WHERE name = '%s'\" % name)  # PLANTED",
    )
    plant(
        py.format("tmp"),
        377,
        "import tempfile",
        "",
        "",
        "def scratch():",
        "    return open(tempfile.mktemp(), 'w')  # PLANTED",
    )
    plant(
        py.format("debug"),
        489,
        "from flask import Flask",
        "",
        "app = Flask(__name__)",
        "app.run(debug=True)  # PLANTED",
    )
    js = "web/{}"
    plant(js.format("eval.js"), 95, "export function run(s) {", "  return eval(s); // PLANTED", "}")
    plant(
        js.format("func.js"),
        95,
        "export function make(body) {",
        "  return new Function(body); // PLANTED",
        "}",
    )
    plant(
        js.format("html.js"),
        79,
        "export function show(el, text) {",
        "  el.innerHTML = text; // PLANTED",
        "}",
    )
    plant(
        js.format("write.js"),
        79,
        "export function show(html) {",
        "  document.write(html); // PLANTED",
        "}",
    )
    plant(
        js.format("exec.js"),
        78,
        "const cp = require('child_process');",
        "module.exports = (dir) => cp.exec(`ls ${dir}`); // PLANTED",
    )
    plant(
        js.format("sql.ts"),
        89,
        "export function find(db: any, id: string) {",
        "  return db.query('SELECT * FROM t WHERE id = ' + id); // PLANTED",
        "}",
    )
    plant(
        js.format("hash.ts"),
        327,
        "import * as crypto from 'crypto';",
        "export const sign = (d: string) => crypto.createHash('md5').update(d); // PLANTED",
    )
    plant(
        js.format("tls.js"),
        295,
        "const https = require('https');",
        "https.get(process.argv[2], {rejectUnauthorized: false}); // PLANTED",
    )
    plant(
        js.format("redirect.js"),
        601,
        "module.exports = (app) => {",
        "  app.get('/go', (req, res) => res.redirect(req.query.next)); // PLANTED",
        "};",
    )
    plant(
        js.format("file.js"),
        22,
        "module.exports = (app) => {",
        "  app.get('/f', (req, res) => res.sendFile(req.params.name)); // PLANTED",
        "};",
    )
    plant(
        js.format("view.jsx"),
        79,
        "export const View = (p) =>",
        "  <div dangerouslySetInnerHTML={{__html: p.html}} />; // PLANTED",
    )
    go = "svc/{}.go"
    plant(
        go.format("sql"),
        89,
        "package svc",
        "func find(db DB, id string) {",
        '\tdb.Query(fmt.Sprintf("SELECT * FROM t WHERE id = %s", id)) // PLANTED',
        "}",
    )
    plant(
        go.format("shell"),
        78,
        "package svc",
        "func run(c string) {",
        '\texec.Command("sh", "-c", c).Run() // PLANTED',
        "}",
    )
    plant(
        go.format("tls"),
        295,
        "package svc",
        "var config = &tls.Config{InsecureSkipVerify: true} // PLANTED",
    )
    plant(
        go.format("hash"),
        327,
        "package svc",
        "func sum(b []byte) {",
        "\tmd5.Sum(b) // PLANTED",
        "}",
    )
    java = "src/main/java/{}.java"
    plant(
        java.format("Find"),
        89,
        "class Find {",
        "  void f(Statement s, String id) throws Exception {",
        '    s.executeQuery("SELECT * FROM t WHERE id = " + id); // PLANTED',
        "  }",
        "}",
    )
    plant(
        java.format("Run"),
        78,
        "class Run {",
        "  void f(String c) throws Exception {",
        "    Runtime.getRuntime().exec(c); // PLANTED",
        "  }",
        "}",
    )
    plant(
        java.format("Hash"),
        327,
        "class Hash {",
        "  void f() throws Exception {",
        '    MessageDigest.getInstance("MD5"); // PLANTED',
        "  }",
        "}",
    )
    plant(
        java.format("Load"),
        502,
        "class Load {",
        "  Object f(ObjectInputStream in) throws Exception {",
        "    return in.readObject(); // PLANTED",
        "  }",
        "}",
    )
    plant("scripts/clean.sh", 22, "#!/bin/sh", 'rm -rf "$1"/*  # PLANTED')
    plant("scripts/run.sh", 78, "#!/bin/sh", "ls $1  # PLANTED")
    plant("scripts/exec.sh", 78, "#!/bin/sh", '$(echo "$1")  # PLANTED')
    plant("docker/root/Dockerfile", 250, "FROM python:3.12-slim", "# PLANTED-BELOW", "USER root")
    plant("docker/untagged/Dockerfile", 1104, "# PLANTED-BELOW", "FROM python", "USER app")
    plant("docker/latest/Dockerfile", 1104, "# PLANTED-BELOW", "FROM python:latest", "USER app")
    plant(
        "docker/add/Dockerfile",
        829,
        "FROM python:3.12-slim",
        "# PLANTED-BELOW",
        "ADD https://example.com/tool.tgz /opt/",
        "USER app",
    )
    plant(
        "docker/sudo/Dockerfile",
        250,
        "FROM debian:12-slim",
        "# PLANTED-BELOW",
        "RUN sudo apt-get install -y curl",
        "USER app",
    )
    flow = ".github/workflows/{}.yml"
    plant(
        flow.format("target"),
        829,
        "on: pull_request_target  # PLANTED",
        "permissions: {}",
        "jobs:",
        "  t:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - run: echo hi",
    )
    plant(
        flow.format("inject"),
        94,
        "on: issues",
        "permissions: {}",
        "jobs:",
        "  t:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        '      - run: echo "${{ github.event.issue.title }}"  # PLANTED',
    )
    plant(
        flow.format("creds"),
        798,
        "on: push",
        "permissions: {}",
        "jobs:",
        "  t:",
        "    runs-on: ubuntu-latest",
        "    container:",
        "      image: example/app:1",
        "      credentials:  # PLANTED",
        "        username: bot",
        "        password: hunter2-plain-password",
        "    steps:",
        "      - run: echo hi",
    )


_planted()


def recall(scratch: Path) -> tuple[str, list[str]]:
    tree = scratch / "planted"
    for path, code in corpus_files().items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(code)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    report, seconds = scanned(tree, scratch)
    seen = set()
    for finding in report["findings"]:
        cwes = {finding["cwe"]} | {FAMILY.get(finding["cwe"], finding["cwe"])}
        seen |= {(finding["path"], finding["line"], cwe) for cwe in cwes if cwe}
    planted = expected()
    missed = [
        f"{path}:{line} CWE-{cwe}"
        for path, line, cwe in planted
        if (path, line, FAMILY.get(cwe, cwe)) not in seen and (path, line, cwe) not in seen
    ]
    found = len(planted) - len(missed)
    share = 100 * found / len(planted)
    score = report["score"]
    line = (f"| planted weaknesses | {len(planted)} | {found} ({share:.0f} %) | "
            f"{score['score']} {score['grade']} | {seconds:.1f} |")  # fmt: skip
    return line, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated project names (default: all)")
    parser.add_argument("--sample", type=Path, default=HERE / ".corpus" / "quality-sample.md")
    parser.add_argument("--corpus-dir", type=Path, default=HERE / ".corpus")
    args = parser.parse_args()
    wanted = args.only.split(",") if args.only else None
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}\n")  # fmt: skip
    print(
        "| project | files | production c / h / m / l / i | elsewhere | merged | "
        "suppressions | score | seconds |\n| --- | ---: | --- | ---: | ---: | ---: | --- | ---: |"
    )
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for registry, package in PROJECTS:
            name = package.split("==")[0].split("@")[-2 if package.startswith("@") else 0]
            if wanted and name not in wanted and package.split("@")[0] not in wanted:
                continue
            fetch = corpora.pypi if registry == "pypi" else corpora.npm
            tree = fetch(package, args.corpus_dir)
            report, seconds = scanned(tree, Path(scratch))
            print(row(package, report, seconds), flush=True)
            lines += sample(package, report)
        print(
            "\n| recall | planted | found | score | seconds |\n| --- | ---: | ---: | --- | ---: |"
        )
        line, missed = recall(Path(scratch))
        print(line)
        for miss in missed:
            print(f"  missed: {miss}")
    args.sample.parent.mkdir(parents=True, exist_ok=True)
    args.sample.write_text("\n".join(lines) + "\n")
    print(f"\n{len(lines)} production high/critical findings written to {args.sample}")


if __name__ == "__main__":
    main()
