/* Tests for src/daemon/sandbox-metrics.c: the bounded ring of samples and the CPU percentage. */
#include "test.h"

#include "daemon/sandbox-metrics.h"

TEST(ring_grows_then_wraps)
{
    struct metrics_ring *r = NULL;
    ASSERT_EQ(metrics_ring_count(r), 0);
    ASSERT_NULL(metrics_ring_at(r, 0));
    for (uint64_t i = 0; i < 1000; i++) {
        struct metrics_sample s = {.at_realtime = i, .mem_used = i * 2};
        metrics_ring_push(&r, &s);
        ASSERT_EQ(metrics_ring_count(r), i + 1 < METRICS_RING_MAX ? i + 1 : METRICS_RING_MAX);
        ASSERT_EQ(metrics_ring_at(r, metrics_ring_count(r) - 1)->at_realtime, i);
    }
    ASSERT_EQ(r->cap, METRICS_RING_MAX);
    /* Oldest first: the first 280 were dropped. */
    for (size_t i = 0; i < METRICS_RING_MAX; i++)
        ASSERT_EQ(metrics_ring_at(r, i)->at_realtime, 1000 - METRICS_RING_MAX + i);
    ASSERT_NULL(metrics_ring_at(r, METRICS_RING_MAX));
    r = metrics_ring_free(r);
    ASSERT_NULL(metrics_ring_free(NULL));
}

TEST(cpu_percentage_is_clamped)
{
    /* One second of CPU time over two seconds on two CPUs is 25 %. */
    ASSERT_EQ((int) metrics_cpu_pct(USEC_PER_SEC, 2 * USEC_PER_SEC, 2), 25);
    ASSERT_EQ((int) metrics_cpu_pct(10 * USEC_PER_SEC, USEC_PER_SEC, 2), 100);
    ASSERT_EQ((int) metrics_cpu_pct(0, USEC_PER_SEC, 2), 0);
    ASSERT_EQ((int) metrics_cpu_pct(USEC_PER_SEC, 0, 2), 0);
    ASSERT_EQ((int) metrics_cpu_pct(USEC_PER_SEC, USEC_PER_SEC, 0), 0);
}
