"""A bounded structured-mutation fuzzing run (a few hundred inputs, seeded: reproducible).

Every input must meet the command-line contract (see ``fuzzlib``). A failure prints the kind,
the seed and the verdict; ``fuzzlib.fuzz_one(kind, seed, folder)`` rebuilds the input.
"""

from __future__ import annotations

from pathlib import Path

import fuzzlib
import pytest

RUNS = {"yaml": 100, "json": 80, "fhir": 100, "dicom": 50, "zip": 40, "nifti": 50}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", list(RUNS))
def test_every_mutated_input_meets_the_contract(kind: str, tmp_path: Path) -> None:
    verdicts: dict[str, int] = {}
    failures = []
    for seed in range(RUNS[kind]):
        folder = tmp_path / str(seed)
        folder.mkdir()
        outcome = fuzzlib.fuzz_one(kind, seed, folder, timeout=60)
        verdicts[outcome.verdict] = verdicts.get(outcome.verdict, 0) + 1
        if outcome.failed:
            failures.append(f"{kind} seed {seed}: {outcome.verdict}: {outcome.detail[:300]}")
    assert not failures, "\n".join(failures)
    assert verdicts.get("refused", 0) > 0  # the mutators do produce bad input,
    assert verdicts.get("ok", 0) > 0  # and inputs that reach the analysis
