#!/usr/bin/env python3
"""What an idle Ready RedisCluster costs the Kubernetes API: the operator's requests per
minute, by verb and resource.

Starts the e2e control plane (real etcd + kube-apiserver + controllers, e2e/controlplane.py),
the fake kubelet (e2e/kubelet.py: the cluster's pods run as local node processes), installs
the chart's CRDs and RBAC and runs ``redslot operator`` under the chart's ServiceAccount, as
e2e/test_operator.py does; applies a RedisCluster and waits until it is Ready, lets it
settle, then counts the requests the operator's ServiceAccount made during the window, from
the API server's audit log (only ServiceAccount requests are logged: the controllers, the
fake kubelet and kubectl are left out).

    python3 bench/operator_api.py                  # 3 shards x 1 replica, a 60 s window
    python3 bench/operator_api.py --window 20      # a quick look
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "support")]

from e2e.conftest import Kube, find_tools, run_script  # noqa: E402
from e2e.controlplane import KubeControlPlane, eventually  # noqa: E402
from e2e.kubelet import FakeKubelet  # noqa: E402
from e2e.test_operator import Operator, create_ready, get_cluster, install_chart  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--window", type=float, default=60.0, help="seconds counted")
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds between Ready and the window")
    args = parser.parse_args()

    bin_dir = run_script("kube-binaries")
    kubectl, helm = find_tools()
    workdir = Path(tempfile.mkdtemp(prefix="redslot-operator-api-"))
    with KubeControlPlane(bin_dir) as plane:
        kube = Kube(plane, kubectl, helm)
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        kube.kubectl("create", "namespace", namespace)
        eventually(lambda: kube.kubectl("get", "serviceaccount", "default", "-n", namespace,
                                        check=False).returncode == 0, 30.0, "the namespace")
        kubelet = FakeKubelet(plane.api(), namespace).start()
        install_chart(kube, namespace)
        operator = Operator(kube, namespace, workdir)
        try:
            started = time.monotonic()
            create_ready(kube, namespace, operator, "idle", args.shards)
            print(f"Ready after {time.monotonic() - started:.1f} s; settling {args.settle:.0f} s",
                  flush=True)
            time.sleep(args.settle)
            start = time.time()
            time.sleep(args.window)
            end = time.time()
            phase = (get_cluster(kube, namespace, "idle").get("status") or {}).get("phase")
            user = f"system:serviceaccount:{namespace}:redslot-operator"
            counts = plane.requests_by(user, start, end)
        finally:
            operator.stop()
            kubelet.stop()
    per_minute = 60.0 / args.window
    print(f"operator API requests, idle Ready cluster ({args.shards} shards x 1 replica, "
          f"phase at the end: {phase}), {args.window:.0f} s window, per minute:")
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {key:<40} {count * per_minute:8.1f}")
    print(f"  {'total':<40} {sum(counts.values()) * per_minute:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
