/*
 * metrics.h - request counters and latency histograms per route, the front
 * door's connection counts, and the Prometheus text rendering helpers
 * shared by every /metrics contributor.
 */
#ifndef BH_HTTP_METRICS_H
#define BH_HTTP_METRICS_H

#include "core/buf.h"
#include "server.h"

#include <stdatomic.h>
#include <stdint.h>

#define BH_METRIC_NSTATUS  22
#define BH_METRIC_NBUCKETS 14

struct bh_route_metrics {
    atomic_uint_fast64_t status[BH_METRIC_NSTATUS];
    atomic_uint_fast64_t bucket[BH_METRIC_NBUCKETS]; /* cumulative on render */
    atomic_uint_fast64_t nanos;
    atomic_uint_fast64_t count;
};

struct bh_http_metrics {
    size_t nroutes; /* entries: one per route plus one for "unmatched" */
    struct bh_route_metrics *per;
    const struct bh_route *routes;
    const struct bh_front_stats *conn; /* the front door's counts, if any */
};

int bh_http_metrics_init(struct bh_http_metrics *m, const struct bh_route *routes, size_t n);
void bh_http_metrics_free(struct bh_http_metrics *m);
/* route_idx == nroutes-1 for unmatched requests */
void bh_http_metrics_observe(struct bh_http_metrics *m, size_t route_idx, int status,
                             uint64_t nanos, bool timed);
int bh_http_metrics_render(const struct bh_http_metrics *m, struct bh_buf *out);

/* The HTTP metrics of a running server. */
const struct bh_http_metrics *bh_http_get_metrics(const struct bh_http *h);

#endif
