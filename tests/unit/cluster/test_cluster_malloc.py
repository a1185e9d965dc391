"""restore_malloc: a process started the way a Dask nanny starts its workers
(MALLOC_TRIM_THRESHOLD_ set) stops paying page faults for every array over 128 KiB."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import resource, sys
import numpy as np
from searchlib.cluster.malloc import restore_malloc
restored = restore_malloc() if sys.argv[1] == "restore" else False
a = np.ones(1 << 17)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    a = np.ones(1 << 17)  # 1 MiB, freed by the next one
    del a
print(restored, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def probe(mode: str, trim: bool) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    if trim:
        env["MALLOC_TRIM_THRESHOLD_"] = "65536"  # what distributed.nanny.pre-spawn-environ sets
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, check=True)
    restored, faults = out.stdout.split()
    return restored, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt thresholds are a Linux matter")
def test_restore_malloc_stops_the_page_faults_of_a_nanny_worker():
    restored, trimmed_faults = probe("leave", trim=True)
    assert trimmed_faults > 200 * 100  # every 1 MiB array mapped and faulted in afresh (256 pages each)
    restored, faults = probe("restore", trim=True)
    assert restored == "True"
    assert faults < trimmed_faults / 20


def test_restore_malloc_leaves_a_process_started_without_the_variable_alone():
    restored, _ = probe("restore", trim=False)
    assert restored == "False"
