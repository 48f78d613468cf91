#!/usr/bin/env python3
"""Evaluation sets for `autosec eval detect` from CICIDS2017 flow exports (CICFlowMeter CSV).

usage: cicids_labels.py CSV_DIR OUT_DIR

Writes OUT_DIR/{all,tune,held-out}/ with the CSV files (rows of that split, header kept)
and OUT_DIR/{all,tune,held-out}.labels.jsonl. Rows with an even `id` (the dataset's own row number, so the split
does not depend on our code) are the tuning half, odd ones the held-out half.

One incident per attack class (the dataset's `Label` column). The scenario is
`<threat family>:<class>`, so `eval detect` checks that an alert of the right family cites
the class's flows and reports each class on its own line. Classes whose attacks live in
payloads (web attacks) or in a handful of flows are labelled too: the report shows them as
not found rather than hiding them. Lines are 1-based file lines (the header is line 1).

The public sample's rows are shuffled (drawn at random from each class); a flow exporter
writes flows in time order, so each file is written sorted by `Timestamp`.
"""
import csv
import json
import os
import sys

FAMILY = {
    "FTP-Patator": "brute_force",
    "SSH-Patator": "brute_force",
    "Web Attack - Brute Force": "brute_force",
}
SPLITS = {"all": lambda rid: True, "tune": lambda rid: rid % 2 == 0,
          "held-out": lambda rid: rid % 2 == 1}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, out = sys.argv[1], sys.argv[2]
    for split, keep in SPLITS.items():
        d = os.path.join(out, split)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(out, split + ".labels.jsonl"), "w") as labels:
            for name in sorted(os.listdir(root)):
                if not name.endswith(".csv"):
                    continue
                with open(os.path.join(root, name), newline="") as f, \
                        open(os.path.join(d, name), "w", newline="") as w:
                    reader = csv.reader(f)
                    header = next(reader)
                    writer = csv.writer(w, lineterminator="\n")
                    writer.writerow(header)
                    col = {h.strip(): i for i, h in enumerate(header)}
                    line = 1
                    rows = sorted(reader, key=lambda r: r[col["Timestamp"]])
                    for row in rows:
                        if not keep(int(row[col["id"]] or 0)):
                            continue
                        writer.writerow(row)
                        line += 1
                        label = row[col["Label"]].strip()
                        if label == "BENIGN":
                            continue
                        family = FAMILY.get(label, "network_anomaly")
                        labels.write(json.dumps({"source": name, "line": line,
                                                 "scenario": f"{family}:{label}",
                                                 "entity": ""}) + "\n")


if __name__ == "__main__":
    main()
