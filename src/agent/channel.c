/*
 * channel.c - the agent's WebSocket to the server (GET /api/v1/agent/channel
 * with the host token), held by a thread of its own: the server says
 * {"type":"jobs"} when a job changed, and the agent asks for its next step
 * at once instead of at its next poll.  The server's pings are the
 * heartbeat: 75 s of silence and the agent connects again, with a growing
 * pause (1 s to 30 s).  Without a channel the agent polls every poll_ms.
 * Beside it, a heartbeat thread keeps the host token alive through steps
 * that report nothing for hours.
 */
#include "agent.h"

#include "core/str.h"
#include "core/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHANNEL_IDLE_MS 75000 /* the hub pings every 30 s */
#define BACKOFF_MAX_S   30

static int on_msg(void *ud, const char *msg, size_t n, long long *rev)
{
    struct bh_agent *a = ud;
    (void)rev;
    pthread_mutex_lock(&a->mu);
    if (memmem(msg, n, "\"hello\"", 7))
        atomic_store(&a->channel_up, true);
    a->kicked = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* a client of its own for a thread: the agent's server and host token */
static void own_client(const struct bh_agent *a, struct bh_cli *c)
{
    memset(c, 0, sizeof(*c));
    bh_strlcpy(c->url, a->api.url, sizeof(c->url));
    bh_strlcpy(c->token, a->api.token, sizeof(c->token));
}

static void *channel(void *arg)
{
    struct bh_agent *a = arg;
    struct bh_cli c;
    own_client(a, &c);
    int backoff = 1;
    while (!atomic_load(&a->quit)) {
        long long rev = 0;
        struct bh_err e;
        uint64_t t0 = bh_mono_ns();
        int rc = bh_ws_session(&c, "/api/v1/agent/channel", CHANNEL_IDLE_MS, &a->quit, on_msg, a,
                               &rev, &e);
        atomic_store(&a->channel_up, false);
        if (atomic_load(&a->quit))
            break;
        if (rc == BH_EAUTH) {
            fprintf(stderr, "bootherd-agent: channel: %s; polling only\n", e.msg);
            break;
        }
        if (bh_mono_ns() - t0 > 60ull * 1000000000) /* it lasted: come back quickly */
            backoff = 1;
        fprintf(stderr, "bootherd-agent: channel: %s; again in %d s\n", rc ? e.msg : "closed",
                backoff);
        for (int i = 0; i < backoff && !atomic_load(&a->quit); i++) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
        backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
    }
    explicit_bzero(c.token, sizeof(c.token));
    return NULL;
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* A read the server hears the host token in, every BH_AGENT_HEARTBEAT_MS,
 * on a connection of its own (the main thread may be deep in a step). */
static void *heartbeat(void *arg)
{
    struct bh_agent *a = arg;
    struct bh_cli c;
    own_client(a, &c);
    c.curl = curl_easy_init();
    for (;;) {
        struct timespec ts;
        deadline_in(&ts, BH_AGENT_HEARTBEAT_MS);
        pthread_mutex_lock(&a->mu);
        while (!atomic_load(&a->quit) &&
               pthread_cond_timedwait(&a->hb_cv, &a->mu, &ts) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&a->mu);
        if (atomic_load(&a->quit) || !c.curl)
            break;
        long status = 0;
        json_t *out = NULL;
        struct bh_err e;
        if (bh_cli_json(&c, "GET", "/api/v1/agent/task", NULL, &status, &out, &e))
            fprintf(stderr, "bootherd-agent: heartbeat: %s\n", e.msg);
        json_decref(out);
    }
    bh_cli_cleanup(&c);
    return NULL;
}

int bh_agent_channel_start(struct bh_agent *a)
{
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_cond_init(&a->hb_cv, &ca);
    pthread_condattr_destroy(&ca);
    a->has_hb = pthread_create(&a->hb, NULL, heartbeat, a) == 0;
    a->has_thread = pthread_create(&a->th, NULL, channel, a) == 0;
    return a->has_thread ? 0 : BH_ESYS;
}

void bh_agent_channel_stop(struct bh_agent *a)
{
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->quit, true);
    pthread_cond_broadcast(&a->hb_cv);
    pthread_mutex_unlock(&a->mu);
    if (a->has_thread)
        pthread_join(a->th, NULL);
    if (a->has_hb)
        pthread_join(a->hb, NULL);
    pthread_cond_destroy(&a->hb_cv);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
}

void bh_agent_wait(struct bh_agent *a, int poll_ms)
{
    int ms = atomic_load(&a->channel_up) ? 10 * 1000 : poll_ms; /* a slow poll still runs
                                                                 * at:TIME jobs in time */
    struct timespec ts;
    deadline_in(&ts, ms);
    pthread_mutex_lock(&a->mu);
    while (!a->kicked && pthread_cond_timedwait(&a->cv, &a->mu, &ts) != ETIMEDOUT)
        ;
    a->kicked = false;
    pthread_mutex_unlock(&a->mu);
}
