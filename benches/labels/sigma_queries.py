#!/usr/bin/env python3
"""Retrieval queries from Sigma rules other people wrote, for `autosec eval rag`.

usage: sigma_queries.py RULES_DIR [RULES_DIR ...] > queries.jsonl

Each rule with `attack.tNNNN` tags becomes one query: its title and description (the
words a rule author chose), expected = the tagged techniques. Rules without technique
tags are skipped. The queries are written to a file outside the repository: the rule
text is not ours to commit (SigmaHQ's Detection Rule License), only this script is.
"""
import json
import os
import re
import sys

import yaml

TAG = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.I)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for root in sys.argv[1:]:
        for dirpath, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                if not name.endswith((".yml", ".yaml")):
                    continue
                with open(os.path.join(dirpath, name)) as f:
                    for rule in yaml.safe_load_all(f):
                        if not isinstance(rule, dict):
                            continue
                        tags = [m.group(1).upper() for t in rule.get("tags") or []
                                if (m := TAG.match(str(t)))]
                        if not tags:
                            continue
                        text = " ".join(str(rule.get(k) or "").strip()
                                        for k in ("title", "description"))
                        print(json.dumps({"query": " ".join(text.split()),
                                          "expected": sorted(set(tags))}))


if __name__ == "__main__":
    main()
