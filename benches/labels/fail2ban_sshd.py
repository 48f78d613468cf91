#!/usr/bin/env python3
"""Label an auth.log the way fail2ban's default sshd jail would act on it.

Our own reading of fail2ban's defaults (jail `sshd`, filter mode `normal`, maxretry = 5,
findtime = 10 min): every line below counts as one failure of its remote host, and a host
with 5 failures inside any 10-minute span would be banned. A banned host is one brute-force
incident; its counted lines are the incident's labelled events. Hostnames (PAM `rhost=`)
count under the name as logged (fail2ban would resolve them; we resolve nothing).

Usage: fail2ban_sshd.py AUTH_LOG [--year 2026] > labels.jsonl
Prints labels.jsonl lines ({"source", "line", "scenario": "brute_force", "entity"}) and a
summary on stderr.
"""
import re
import sys
from datetime import datetime, timedelta

FAILURES = [
    re.compile(r"Failed (?:password|publickey|keyboard-interactive/pam|none) for (?:invalid user )?.* from (?P<host>\S+) port"),
    re.compile(r"[Ii]nvalid user .* from (?P<host>\S+)(?: port \d+)?\s*$"),
    re.compile(r"maximum authentication attempts exceeded for .* from (?P<host>\S+)"),
    re.compile(r"User .+ from (?P<host>\S+) not allowed because"),
    re.compile(r"Disconnected from (?:invalid|authenticating) user .* (?P<host>\d+\.\d+\.\d+\.\d+|[0-9a-f:]+) port \d+ \[preauth\]"),
    re.compile(r"Received disconnect from (?P<host>\S+)(?: port \d+)?:\s*\d+: .*(?:Auth fail|authentication failures).*\[preauth\]"),
]
# Old sshd builds log only PAM's line for a failed password (program `sshd(pam_unix)`); there it
# is the attempt. Newer builds log it next to "Failed password", which fail2ban's sshd jail
# counts instead (the PAM line is the pam-generic jail's).
LEGACY_PAM = re.compile(r"authentication failure;.*\brhost=(?P<host>\S+)")
SSHD = re.compile(r"^(?P<ts>\w{3}\s+\d+ \d\d:\d\d:\d\d) \S+ (?P<prog>sshd(?:\(pam_unix\))?)\[\d+\]: (?P<msg>.*)$")


def main():
    path = sys.argv[1]
    year = int(sys.argv[sys.argv.index("--year") + 1]) if "--year" in sys.argv else 2026
    name = path.rsplit("/", 1)[-1]
    per_host = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = SSHD.match(line.rstrip("\n"))
            if not m:
                continue
            rxs = [LEGACY_PAM] if m["prog"] == "sshd(pam_unix)" else FAILURES
            for rx in rxs:
                hit = rx.search(m["msg"])
                if hit:
                    ts = datetime.strptime(f"{year} {m['ts']}", "%Y %b %d %H:%M:%S")
                    per_host.setdefault(hit["host"], []).append((ts, n))
                    break
    banned = 0
    window = timedelta(minutes=10)
    for host, hits in sorted(per_host.items()):
        hits.sort()
        if not any(hits[i + 4][0] - hits[i][0] <= window for i in range(len(hits) - 4)):
            continue
        banned += 1
        for _, n in hits:
            print(f'{{"source": "{name}", "line": {n}, "scenario": "brute_force", "entity": "{host}"}}')
    print(f"{name}: {len(per_host)} hosts with failures, {banned} would be banned", file=sys.stderr)


if __name__ == "__main__":
    main()
