"""What 2 processes can gain on this machine at best: a CPU-only task that shares no data.

The sweep's speed-up is bounded by the machine, not only by the code: on a virtual machine two logical
cores may not be two free physical cores. Timing the same process pool on pure arithmetic gives that
bound, measured in the same run as the sweep.
"""

from __future__ import annotations


def spin(n: int) -> int:
    """Integer arithmetic in a Python loop: no memory traffic, no I/O, no shared state."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
