"""What the SDK scripts of tests/sdk.rs share: a step's name on standard
output, and a check that ends the script with status 1 when it fails."""

import sys


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)


def step(name):
    print("--", name, flush=True)
