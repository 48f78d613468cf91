#!/usr/bin/env python3
"""ATT&CK coverage of AutoSec's own Sigma pack.

Usage: attack_coverage.py ENTERPRISE_ATTACK_JSON [RULES_DIR] > datasets/rules/COVERAGE.md

Reads the ATT&CK Enterprise STIX 2.1 bundle, keeps the techniques and sub-techniques (attack-pattern
objects that are neither revoked nor deprecated) whose platforms include IaaS, Identity Provider, SaaS or
Linux, reads the `attack.tNNNN[.NNN]` tags of every rule under RULES_DIR (default: the repo's
datasets/rules), and prints the coverage document as Markdown. Standard library only.
"""
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

PLATFORMS = ("IaaS", "Identity Provider", "SaaS", "Linux")
NOT_VISIBLE = "not visible in these logs"
SUDO_MARK = "\u2020"
TAG = re.compile(r"^attack\.t(\d{4})(?:\.(\d{3}))?$")


def techniques(bundle_path):
    """(id, name, matching platforms) for every live technique on our platforms, and all live ids."""
    with open(bundle_path, encoding="utf-8") as fh:
        bundle = json.load(fh)
    rows, live = [], set()
    for obj in bundle.get("objects", []):
        if obj.get("type") != "attack-pattern" or obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        ext = [r.get("external_id") for r in obj.get("external_references", [])
               if r.get("source_name") == "mitre-attack" and r.get("external_id")]
        if not ext:
            continue
        live.add(ext[0])
        platforms = [p for p in PLATFORMS if p in obj.get("x_mitre_platforms", [])]
        if platforms:
            rows.append((ext[0], obj.get("name", ""), platforms))
    rows.sort(key=lambda r: [int(x) for x in r[0][1:].split(".")])
    return rows, live


def read_rule(path):
    """The `tags:` list and logsource service of one rule file (a small reader for our own, plainly
    formatted YAML)."""
    tags, section, service = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        top = re.match(r"^([A-Za-z_]+):\s*(.*)$", line)
        if top:
            section = top.group(1)
            continue
        if section == "tags":
            m = re.match(r"^\s+-\s+(\S+)\s*$", line)
            if m:
                tags.append(m.group(1).strip("'\""))
        elif section == "logsource":
            m = re.match(r"^\s+service:\s*(\S+)\s*$", line)
            if m:
                service = m.group(1).strip("'\"")
    return tags, service


def rules_by_technique(rules_dir):
    """Rule names per technique id; names of rules that only read sudo's log get a dagger."""
    out = defaultdict(list)
    count = 0
    for path in sorted(Path(rules_dir).rglob("*.y*ml")):
        count += 1
        tags, service = read_rule(path)
        label = "`%s`%s" % (path.stem, SUDO_MARK if service == "sudo" else "")
        for tag in tags:
            m = TAG.match(tag)
            if m:
                tid = "T" + m.group(1) + ("." + m.group(2) if m.group(2) else "")
                out[tid].append(label)
    return out, count


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    rules_dir = argv[2] if len(argv) > 2 else Path(__file__).resolve().parent.parent / "datasets" / "rules"
    rows, live = techniques(argv[1])
    by_tech, rule_count = rules_by_technique(rules_dir)
    enumerated = {r[0] for r in rows}
    for tid in sorted(by_tech):
        if tid not in live:
            print("warning: rules tag %s, which is not a live ATT&CK technique: %s" % (tid, ", ".join(by_tech[tid])),
                  file=sys.stderr)
        elif tid not in enumerated:
            print("warning: %s is outside the enumerated platforms" % tid, file=sys.stderr)

    table, direct, via_sub = [], 0, 0
    for tid, name, platforms in rows:
        names = sorted(set(by_tech.get(tid, [])))
        subs = sorted(t for t in by_tech if t.startswith(tid + ".") and t in enumerated)
        if names:
            direct += 1
            cell = ", ".join(names)
        elif subs:
            via_sub += 1
            cell = "through sub-techniques " + ", ".join(subs)
        else:
            cell = NOT_VISIBLE
        table.append("| %s | %s | %s | %s |" % (tid, name.replace("|", "\\|"), ", ".join(platforms), cell))

    total = len(rows)
    covered = direct + via_sub
    out = [
        "# ATT&CK coverage of the AutoSec rule pack",
        "",
        "Which ATT&CK Enterprise techniques our own Sigma rules (`cloudtrail/`, `linux/`) can detect in the two "
        "sources AutoSec reads: AWS CloudTrail records and Linux syslog / auth.log lines.",
        "",
        "The list holds every technique and sub-technique of the bundle that is neither revoked nor deprecated and "
        "whose platforms include IaaS, Identity Provider, SaaS or Linux (the Platforms column shows which of those "
        "four). A technique is covered when a rule carries its `attack.tNNNN[.NNN]` tag; a parent technique with no "
        "rule of its own counts as covered through the sub-techniques named. Everything else is marked "
        "`%s`: it leaves no trace in a single CloudTrail record or syslog line (it needs process, file, network "
        "or EDR telemetry, other SaaS audit logs, or correlation over many events)." % NOT_VISIBLE,
        "",
        "Many Linux rules read the command line that sudo logs for every command it runs. They are marked %s: "
        "they see the technique only when the adversary runs it through sudo, so a row whose rules all carry the "
        "mark is partial coverage (except for T1548.003, where abusing sudo is the technique itself)." % SUDO_MARK,
        "",
        "Regenerate with `python3 benches/attack_coverage.py /path/to/enterprise-attack.json > "
        "datasets/rules/COVERAGE.md`.",
        "",
        "**%d techniques enumerated, %d covered** (%d by a rule tag, %d only through sub-techniques), %d not "
        "visible; %d rules read." % (total, covered, direct, via_sub, total - covered, rule_count),
        "",
        "| Technique | Name | Platforms | Rule(s) |",
        "|---|---|---|---|",
    ]
    print("\n".join(out + table))


if __name__ == "__main__":
    main(sys.argv)
