"""The Python API's throughput at 1280x720 with objects, for a checkout of this repository (an A/B of two commits
on the same machine in the same minutes).

    git worktree add /tmp/base 1a8ecc9          # the code before issue 19
    python -m benchmarks.api_ab --repo /tmp/base   # then --repo . ; compare the two lines

Each run imports ``maskdepth`` from ``--repo`` in a fresh process and times ``maskdepth.load("default").predict(bg,
image).objects`` on :func:`maskdepth.bench.timing.api_pair` (this checkout's synthetic pair, the same for both),
``--repeats`` x ``--iters`` calls after 3 warm-ups; prints pairs/s per repeat (1 / median latency) and the load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

_CHILD = """
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
import maskdepth
from maskdepth_pair import api_pair
m = maskdepth.load("default"); bg, fg = api_pair()
for _ in range(3): m.predict(bg, fg).objects
out = []
for _ in range(int(sys.argv[2])):
    ts = []
    for _ in range(int(sys.argv[3])):
        t = time.perf_counter(); m.predict(bg, fg).objects; ts.append(time.perf_counter() - t)
    out.append(round(1 / float(np.median(ts)), 1))
print(maskdepth.__file__, "pairs/s per repeat:", out)
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="a checkout of this repository whose maskdepth is timed")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    a = ap.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    pair = os.path.join(here, "_api_pair")
    os.makedirs(pair, exist_ok=True)
    with open(os.path.join(pair, "maskdepth_pair.py"), "w") as f:  # this checkout's pair, importable without its maskdepth
        import inspect

        from maskdepth.bench import timing

        f.write("import numpy as np\nAPI_INPUT_HW = (720, 1280)\n" + inspect.getsource(timing.api_pair))
    env = dict(os.environ, PYTHONPATH=pair)
    r = subprocess.run([sys.executable, "-c", _CHILD, os.path.abspath(a.repo), str(a.repeats), str(a.iters)], env=env, text=True)
    print(f"load average: {os.getloadavg()}")
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
