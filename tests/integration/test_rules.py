"""repolens's own semgrep rules: each fires on the mistake and stays quiet on the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens import inventory
from repolens.analyzers.base import AnalyzerContext, Snapshot
from repolens.analyzers.builtin.semgrep import SemgrepAnalyzer, SemgrepOptions, bundled_rules
from repolens.settings import child_environment

# rule id: (file name, code with the mistake, code without it)
EXAMPLES = {
    "js-sql-built-from-data": ("db.js", "db.query('SELECT * FROM t WHERE id = ' + id);",
                               "db.query('SELECT * FROM t WHERE id = $1', [id]);"),
    "js-weak-hash": ("h.js", "crypto.createHash('md5').update(x);",
                     "crypto.createHash('sha256').update(x);"),
    "js-tls-verification-disabled": ("t.js", "https.get(url, {rejectUnauthorized: false});",
                                     "https.get(url, {rejectUnauthorized: true});"),
    "js-open-redirect": ("r.js", "app.get('/go', (req, res) => res.redirect(req.query.next));",
                         "app.get('/go', (req, res) => res.redirect('/home'));"),
    "js-path-from-request": ("f.js", "app.get('/f', (req, res) => res.sendFile(req.query.name));",
                             "app.get('/f', (req, res) => res.sendFile('index.html'));"),
    "js-react-dangerous-html": ("c.jsx", "const C = (p) => <div dangerouslySetInnerHTML={{__html: p.html}} />;",
                                "const C = (p) => <div>{p.html}</div>;"),
    "js-inner-html": ("i.js", "el.innerHTML = userText;", "el.textContent = userText;"),
    "js-document-write": ("w.js", "document.write(html);", "document.write('<p>hi</p>');"),
    "js-child-process-exec": ("x.js", "const cp = require('child_process'); cp.exec(`ls ${dir}`);",
                              "const cp = require('child_process'); cp.execFile('ls', [dir]);"),
    "js-eval": ("e.ts", "export const run = (s: string) => eval(s);",
                "export const run = (s: string) => JSON.parse(s);"),
    "go-sql-built-from-data": ("q.go", 'package q\nfunc f() { db.Query(fmt.Sprintf("SELECT * FROM t WHERE id = %s", id)) }\n',
                               'package q\nfunc f() { db.Query("SELECT * FROM t WHERE id = $1", id) }\n'),
    "go-shell-command-from-data": ("s.go", 'package s\nfunc f(c string) { exec.Command("sh", "-c", c).Run() }\n',
                                   'package s\nfunc f(c string) { exec.Command("ls", c).Run() }\n'),
    "go-tls-verification-disabled": ("t.go", "package t\nvar c = &tls.Config{InsecureSkipVerify: true}\n",
                                     "package t\nvar c = &tls.Config{MinVersion: tls.VersionTLS12}\n"),
    "go-weak-hash": ("h.go", "package h\nfunc f(b []byte) { md5.Sum(b) }\n",
                     "package h\nfunc f(b []byte) { sha256.Sum256(b) }\n"),
    "java-sql-built-from-data": ("Q.java", 'class Q { void f(Statement s, String id) throws Exception { s.executeQuery("SELECT * FROM t WHERE id = " + id); } }\n',
                                 'class Q { void f(Connection c, String id) throws Exception { PreparedStatement p = c.prepareStatement("SELECT * FROM t WHERE id = ?"); p.setString(1, id); p.executeQuery(); } }\n'),
    "java-command-from-data": ("C.java", "class C { void f(String c) throws Exception { Runtime.getRuntime().exec(c); } }\n",
                               'class C { void f() throws Exception { Runtime.getRuntime().exec("ls"); } }\n'),
    "java-weak-hash": ("H.java", 'class H { void f() throws Exception { MessageDigest.getInstance("MD5"); } }\n',
                       'class H { void f() throws Exception { MessageDigest.getInstance("SHA-256"); } }\n'),
    "java-object-deserialization": ("D.java", "class D { Object f(InputStream s) throws Exception { ObjectInputStream in = new ObjectInputStream(s); return in.readObject(); } }\n",
                                    "class D { Object f(InputStream s) throws Exception { return new ObjectMapper().readValue(s, Object.class); } }\n"),
    "java-hostname-verification-disabled": ("V.java", "class V { void f(HttpsURLConnection c) { c.setHostnameVerifier((h, s) -> true); } }\n",
                                            "class V { void f(HttpsURLConnection c) { c.setHostnameVerifier(new StrictVerifier()); } }\n"),
}  # fmt: skip


def rules_hit(root: Path, name: str, code: str) -> set[str]:
    (root / name).write_text(code)
    found = inventory.take(root, [name], 1_000_000)
    context = AnalyzerContext(options=SemgrepOptions(), environment=child_environment())
    outcome = SemgrepAnalyzer().analyze(Snapshot(root, tuple(found.files)), context)
    return {finding.rule_id for finding in outcome.findings}


@pytest.mark.parametrize("rule", sorted(EXAMPLES))
def test_a_rule_fires_on_the_mistake_and_not_on_the_fix(rule: str, tmp_path: Path) -> None:
    name, mistake, fixed = EXAMPLES[rule]
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    assert rule in rules_hit(tmp_path / "bad", name, mistake)
    assert rule not in rules_hit(tmp_path / "good", name, fixed)


def test_every_bundled_rule_for_javascript_go_and_java_has_examples() -> None:
    import yaml

    ids = {rule["id"] for path in bundled_rules().glob("*.yml")
           for rule in yaml.safe_load(path.read_text())["rules"]}  # fmt: skip
    assert {rule for rule in ids - set(EXAMPLES) if not rule.startswith("python-")} == set()
