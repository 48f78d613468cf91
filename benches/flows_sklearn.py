#!/usr/bin/env python3
"""scikit-learn's IsolationForest on the flows `autosec eval detect` scored, for comparison.

usage:
  autosec eval detect LABELS PATHS --json --flow-features-out /tmp/flows.csv > report.json
  python3 benches/flows_sklearn.py /tmp/flows.csv [--trees 100] [--sample 256] [--seeds 5]

Same rows, same features (the file holds what our forest was trained on), same number of
trees and sample size; fit on every row and score the same rows, as our figure does. NaN
(a column the export lacks) becomes 0 for scikit-learn, which rejects NaN. Prints the
ROC-AUC for several seeds and their mean. Run by hand (needs numpy and scikit-learn).
"""
import argparse
import csv

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score


def main():
    p = argparse.ArgumentParser()
    p.add_argument("features")
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--sample", type=int, default=256)
    p.add_argument("--seeds", type=int, default=5)
    a = p.parse_args()
    with open(a.features, newline="") as f:
        rows = list(csv.reader(f))[1:]
    y = np.array([int(r[0]) for r in rows])
    x = np.nan_to_num(np.array([[float(v) for v in r[1:]] for r in rows]), nan=0.0)
    aucs = []
    for seed in range(a.seeds):
        forest = IsolationForest(n_estimators=a.trees, max_samples=min(a.sample, len(x)),
                                 random_state=seed).fit(x)
        # score_samples is higher for normal rows: negate for "more anomalous".
        aucs.append(roc_auc_score(y, -forest.score_samples(x)))
        print(f"seed {seed}: ROC-AUC {aucs[-1]:.4f}")
    print(f"flows {len(x)}, attacks {int(y.sum())}, mean ROC-AUC {np.mean(aucs):.4f} "
          f"(sd {np.std(aucs):.4f})")


if __name__ == "__main__":
    main()
