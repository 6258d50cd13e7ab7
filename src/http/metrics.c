/*
 * metrics.c - per-route HTTP metrics (lock-free counters).
 */
#include "metrics.h"

#include <stdlib.h>

static const int statuses[BH_METRIC_NSTATUS - 1] = {
    101, 200, 201, 204, 206, 304, 400, 401, 403, 404, 405,
    409, 410, 412, 413, 415, 416, 422, 426, 500, 503,
};
/* upper bounds in seconds; the last bucket is +Inf */
static const double bounds[BH_METRIC_NBUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
};

int bh_http_metrics_init(struct bh_http_metrics *m, const struct bh_route *routes, size_t n)
{
    m->nroutes = n + 1;
    m->routes = routes;
    m->per = calloc(m->nroutes, sizeof(*m->per));
    return m->per ? 0 : -1;
}

void bh_http_metrics_free(struct bh_http_metrics *m)
{
    free(m->per);
    m->per = NULL;
}

void bh_http_metrics_observe(struct bh_http_metrics *m, size_t route_idx, int status,
                             uint64_t nanos, bool timed)
{
    if (route_idx >= m->nroutes)
        route_idx = m->nroutes - 1;
    struct bh_route_metrics *r = &m->per[route_idx];
    size_t si = BH_METRIC_NSTATUS - 1;
    for (size_t i = 0; i < BH_METRIC_NSTATUS - 1; i++)
        if (statuses[i] == status)
            si = i;
    atomic_fetch_add_explicit(&r->status[si], 1, memory_order_relaxed);
    if (!timed)
        return;
    double secs = (double)nanos / 1e9;
    size_t b = BH_METRIC_NBUCKETS - 1;
    for (size_t i = 0; i < BH_METRIC_NBUCKETS - 1; i++) {
        if (secs <= bounds[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->nanos, nanos, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

static void route_labels(const struct bh_http_metrics *m, size_t i, const char **method,
                         const char **route)
{
    if (i < m->nroutes - 1) {
        *method = m->routes[i].method;
        *route = m->routes[i].pattern;
    } else {
        *method = "any";
        *route = "unmatched";
    }
}

static int conn_render(const struct bh_front_stats *st, struct bh_buf *o)
{
    int rc = bh_buf_adds(o, "# HELP bootherd_http_connections Open HTTP connections by pool.\n"
                            "# TYPE bootherd_http_connections gauge\n");
    for (int c = 0; c < BH_CONN__COUNT && !rc; c++)
        rc = bh_buf_printf(o, "bootherd_http_connections{pool=\"%s\"} %llu\n",
                           bh_conn_class_name((enum bh_conn_class)c),
                           (unsigned long long)atomic_load(&st->open[c]));
    if (!rc)
        rc = bh_buf_printf(o,
                           "# HELP bootherd_http_connections_pending Connections whose request "
                           "head has not arrived.\n# TYPE bootherd_http_connections_pending "
                           "gauge\nbootherd_http_connections_pending %llu\n",
                           (unsigned long long)atomic_load(&st->pending));
    if (!rc)
        rc = bh_buf_adds(o, "# HELP bootherd_http_connections_accepted_total Connections handed "
                            "to a pool.\n# TYPE bootherd_http_connections_accepted_total "
                            "counter\n");
    for (int c = 0; c < BH_CONN__COUNT && !rc; c++)
        rc = bh_buf_printf(o, "bootherd_http_connections_accepted_total{pool=\"%s\"} %llu\n",
                           bh_conn_class_name((enum bh_conn_class)c),
                           (unsigned long long)atomic_load(&st->accepted[c]));
    if (!rc)
        rc = bh_buf_adds(o, "# HELP bootherd_http_connections_refused_total Connections refused "
                            "or cut by the front door, by reason.\n"
                            "# TYPE bootherd_http_connections_refused_total counter\n");
    for (int r = 0; r < BH_FRONT__NREASONS && !rc; r++)
        rc = bh_buf_printf(o, "bootherd_http_connections_refused_total{reason=\"%s\"} %llu\n",
                           bh_front_reason_name((enum bh_front_reason)r),
                           (unsigned long long)atomic_load(&st->refused[r]));
    if (!rc)
        rc = bh_buf_printf(o,
                           "# HELP bootherd_http_connections_tls_total Connections handed to the "
                           "TLS pool (counted in accepted_total too).\n"
                           "# TYPE bootherd_http_connections_tls_total counter\n"
                           "bootherd_http_connections_tls_total %llu\n"
                           "# HELP bootherd_http_redirects_total Plain HTTP requests on the TLS "
                           "port, sent to https with 308.\n"
                           "# TYPE bootherd_http_redirects_total counter\n"
                           "bootherd_http_redirects_total %llu\n",
                           (unsigned long long)atomic_load(&st->tls_accepted),
                           (unsigned long long)atomic_load(&st->redirected));
    return rc;
}

int bh_http_metrics_render(const struct bh_http_metrics *m, struct bh_buf *o)
{
    int rc = m->conn ? conn_render(m->conn, o) : 0;
    if (!rc)
        rc = bh_buf_adds(o, "# HELP bootherd_http_requests_total HTTP requests by route and "
                            "status.\n# TYPE bootherd_http_requests_total counter\n");
    for (size_t i = 0; i < m->nroutes && !rc; i++) {
        const char *method, *route;
        route_labels(m, i, &method, &route);
        for (size_t s = 0; s < BH_METRIC_NSTATUS && !rc; s++) {
            uint64_t v = atomic_load_explicit(&m->per[i].status[s], memory_order_relaxed);
            if (!v)
                continue;
            if (s < BH_METRIC_NSTATUS - 1)
                rc = bh_buf_printf(o,
                                   "bootherd_http_requests_total{method=\"%s\",route=\"%s\","
                                   "status=\"%d\"} %llu\n",
                                   method, route, statuses[s], (unsigned long long)v);
            else
                rc = bh_buf_printf(o,
                                   "bootherd_http_requests_total{method=\"%s\",route=\"%s\","
                                   "status=\"other\"} %llu\n",
                                   method, route, (unsigned long long)v);
        }
    }
    if (!rc)
        rc = bh_buf_adds(o, "# HELP bootherd_http_request_duration_seconds Time to answer, by "
                            "route.\n# TYPE bootherd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nroutes && !rc; i++) {
        const struct bh_route_metrics *r = &m->per[i];
        uint64_t count = atomic_load_explicit(&r->count, memory_order_relaxed);
        if (!count)
            continue;
        const char *method, *route;
        route_labels(m, i, &method, &route);
        uint64_t cum = 0;
        for (size_t b = 0; b < BH_METRIC_NBUCKETS && !rc; b++) {
            cum += atomic_load_explicit(&r->bucket[b], memory_order_relaxed);
            if (b < BH_METRIC_NBUCKETS - 1)
                rc = bh_buf_printf(o,
                                   "bootherd_http_request_duration_seconds_bucket{method=\"%s\","
                                   "route=\"%s\",le=\"%g\"} %llu\n",
                                   method, route, bounds[b], (unsigned long long)cum);
            else
                rc = bh_buf_printf(o,
                                   "bootherd_http_request_duration_seconds_bucket{method=\"%s\","
                                   "route=\"%s\",le=\"+Inf\"} %llu\n",
                                   method, route, (unsigned long long)cum);
        }
        if (!rc)
            rc = bh_buf_printf(
                o,
                "bootherd_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
                "bootherd_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
                method, route, (double)atomic_load_explicit(&r->nanos, memory_order_relaxed) / 1e9,
                method, route, (unsigned long long)count);
    }
    return rc;
}
