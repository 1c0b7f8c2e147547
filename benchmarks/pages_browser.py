"""Every page of every role in headless Chromium on a prepared warehouse (the demo): the seconds
until each page is ready (drawn, no callback in flight), cold and then warm, and optionally a
PNG of each page in Chinese for docs/screenshots/. A page is opened as a click on the
navigation bar does (inside the running app, :func:`tests.browser.open_page` with ``soft``); the
first visit of a page is cold (its analyses not yet cached by the service), the others warm.

    eqm --db demo.duckdb demo --students 3000 --no-serve
    python -m benchmarks.pages_browser demo.duckdb [--shots docs/screenshots] [--runs 2]

The warehouse needs the accounts ``jyy`` (officer), ``xz`` (principal), ``mtz`` (committee)
and ``gly`` (admin) with the password ``password1`` (tests.browser.USERS); the script adds
them (``--add-users``) when asked. Prints one line per page and run, then a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from tests import browser

# the page each screenshot shows (first role that offers it), in navigation order
SHOT_NAMES = {"/officer/overview": "officer_overview", "/officer/schools": "officer_schools",
              "/officer/items": "officer_items", "/officer/hotspots": "officer_hotspots",
              "/officer/value-added": "officer_value_added", "/officer/green": "officer_green",
              "/officer/trends": "officer_trends", "/principal": "principal",
              "/committee": "committee", "/admin": "admin"}


OWNER = {"/principal": "xz", "/committee": "mtz", "/admin": "gly"}


def add_users(db: Path) -> None:
    from analytics.users import add_user
    from analytics.warehouse import Warehouse

    wh = Warehouse(db)
    school = int(wh.scalar("SELECT c.school_id FROM classes c GROUP BY 1 "
                           "ORDER BY count(*) DESC, 1 LIMIT 1"))
    for name, role in browser.USERS.items():
        add_user(wh, name, browser.PASSWORD, role,
                 school=school if role == "principal" else None, replace=True)
    from analytics import snapshot

    snapshot.publish(wh)
    wh.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--runs", type=int, default=2, help="visits of each page (1st cold)")
    ap.add_argument("--shots", type=Path, help="write a PNG of each page here (Chinese)")
    ap.add_argument("--add-users", action="store_true")
    args = ap.parse_args()
    if args.add_users:
        add_users(args.db)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    times: dict[str, list[float]] = {}
    shot_done: set[str] = set()
    with browser.served(args.db) as (base, log), \
            browser.chromium(Path(tempfile.mkdtemp(prefix="eqm-bench-"))) as drv:
        for user in browser.USERS:
            browser.log_in(drv, base, user)
            for path in browser.nav_paths(drv):
                for run in range(args.runs):
                    if run:  # leave the page (the router renders only a changed location)
                        browser.open_page(drv, base + "/", soft=True)
                    # as a click on the navigation bar: inside the running app
                    seconds = browser.open_page(drv, base + path, soft=True)
                    times.setdefault(f"{user} {path}", []).append(seconds)
                    print(f"{user:4} {path:22} run {run + 1}: {seconds:5.2f} s", flush=True)
                name = SHOT_NAMES.get(path)
                own = OWNER.get(path, "jyy") == user  # the principal's page as its principal
                if args.shots and name and own and name not in shot_done:
                    args.shots.mkdir(parents=True, exist_ok=True)
                    browser.full_page_screenshot(drv, args.shots / f"{name}.png",
                                                 max_height=2600)
                    shot_done.add(name)
        problems = log.problems()
    warm = {k: min(v[1:]) if len(v) > 1 else v[0] for k, v in times.items()}
    summary = {"uptime": load, "cpus": os.cpu_count(), "pages": len(times),
               "cold_max_s": round(max(v[0] for v in times.values()), 2),
               "warm_max_s": round(max(warm.values()), 2),
               "warm_slowest": max(warm, key=lambda k: warm[k]),
               "warm_s": {k: round(v, 2) for k, v in warm.items()},
               "server_problems": problems[:5]}
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
