"""bench/load/run.py's report: capacity per round, the ratio as the median of the rounds'."""

from bench.load import run


def _step(target, users, rps, p95_ms, *, round_number=1, errors=0, seconds=10.0):
    # n samples: 95 % at 1 ms, the slowest 5 % at p95_ms, so that the 95th percentile is p95_ms.
    n = int(rps * seconds)
    fast = int(n * 0.95) - 1
    samples = [1.0] * fast + [p95_ms] * (n - fast)
    return {
        "target": target,
        "users": users,
        "seconds": seconds,
        "samples": {"dashboard" if target == "mix" else "reference": samples},
        "errors": {"dashboard": errors} if errors else {},
        "error_examples": [],
        "loadavg": [1.0, 1.0, 1.0],
        "round": round_number,
    }


def test_capacity_is_the_fastest_step_under_the_p95_limit_without_errors_in_the_round_asked():
    results = [
        _step("mix", 1, 40, 50),
        _step("mix", 2, 70, 120),
        _step("mix", 4, 90, 200),  # too slow
        _step("mix", 8, 95, 100, errors=1),  # an error
        _step("mix", 2, 60, 100, round_number=2),
        _step("reference", 2, 200, 20),
    ]
    assert run.capacity(results, "mix", 1) == 70
    assert run.capacity(results, "mix", 2) == 60
    assert run.capacity(results, "mix") == 70
    assert run.capacity(results, "reference", 2) == 0


def test_the_ratio_of_several_rounds_is_the_median_of_each_rounds_own_ratio():
    results = []
    for number, (mix, reference) in enumerate([(50, 200), (90, 200), (60, 150)], start=1):
        results += [
            _step("mix", 2, mix, 80, round_number=number),
            _step("reference", 2, reference, 20, round_number=number),
        ]
    rows = run.round_ratios(results)
    assert [round(ratio, 2) for *_rest, ratio in rows] == [0.25, 0.45, 0.4]
    lines = run.capacity_lines(results)
    assert lines[-1].startswith("capacity(mix)/capacity(reference) = 0.40 (median of 3 rounds")
    assert "lowest 0.25, highest 0.45" in lines[-1]


def test_one_round_reports_one_ratio_and_a_round_without_reference_capacity_says_so():
    one = [_step("mix", 2, 50, 80), _step("reference", 2, 100, 20)]
    assert run.capacity_lines(one) == [
        "capacity (highest req/s of a step with p95 < 150 ms and no errors): mix 50.0 req/s, "
        "reference 100.0 req/s; capacity(mix)/capacity(reference) = 0.50"
    ]
    none = [_step("mix", 2, 50, 80), _step("reference", 2, 100, 400)]
    assert run.capacity_lines(none)[-1].endswith("= n/a (the reference has no capacity)")


def test_the_mix_endpoints_are_merged_over_the_rounds_step_by_step():
    results = [
        _step("mix", 2, 10, 80, round_number=1),
        _step("mix", 2, 20, 80, round_number=2),
        _step("mix", 4, 30, 80, round_number=1),
        _step("reference", 2, 100, 20, round_number=1),
    ]
    merged = run.merged_mix_steps(results)
    assert [(step["users"], len(step["samples"]["dashboard"])) for step in merged] == [
        (2, 300),
        (4, 300),
    ]
    assert merged[0]["seconds"] == 20.0
