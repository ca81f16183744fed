"""Token buckets: burst, refill, headers and bounded memory."""

from __future__ import annotations

from hspm.gateway.edge.ratelimit import RateLimiter


class TestRateLimiter:
    def test_burst_then_refusal(self):
        limiter = RateLimiter(per_minute=60, burst=3, max_clients=100)
        decisions = [limiter.take("a", now=100.0) for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]
        assert decisions[-1].retry_after == 1
        assert decisions[-1].reset == 3

    def test_refill_at_the_configured_rate(self):
        limiter = RateLimiter(per_minute=120, burst=2, max_clients=100)
        limiter.take("a", now=0.0)
        limiter.take("a", now=0.0)
        assert not limiter.take("a", now=0.2).allowed
        assert limiter.take("a", now=0.5).allowed  # 2 per second

    def test_clients_do_not_share_buckets(self):
        limiter = RateLimiter(per_minute=60, burst=1, max_clients=100)
        assert limiter.take("a", now=0.0).allowed
        assert limiter.take("b", now=0.0).allowed
        assert not limiter.take("a", now=0.0).allowed

    def test_headers(self):
        limiter = RateLimiter(per_minute=60, burst=1, max_clients=100)
        assert limiter.take("a", now=0.0).headers() == {
            "RateLimit-Limit": "1",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "1",
        }
        assert limiter.take("a", now=0.0).headers()["Retry-After"] == "1"

    def test_idle_buckets_are_forgotten(self):
        limiter = RateLimiter(per_minute=60, burst=10, max_clients=1000)
        for i in range(50):
            limiter.take(f"c{i}", now=0.0)
        assert len(limiter) == 50
        limiter.take("late", now=11.0)  # 10 s refills a bucket of 10 at 1/s
        assert len(limiter) == 1

    def test_memory_is_bounded_under_a_flood_of_clients(self):
        limiter = RateLimiter(per_minute=60, burst=10, max_clients=100)
        for i in range(1000):
            limiter.take(f"c{i}", now=0.0)
        assert len(limiter) == 100
