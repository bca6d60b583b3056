from engine.orders.retry import RetryPolicy


def test_backoff_doubles_from_half_a_second_and_caps_at_two() -> None:
    policy = RetryPolicy()
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.0]


def test_backoff_scales_with_the_simulation() -> None:
    assert RetryPolicy(scale=0.0).backoff(2) == 0.0
    assert RetryPolicy(scale=0.1).backoff(1) == 0.05
