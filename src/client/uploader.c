/*
 * uploader.c - see uploader.h.  A bounded queue of owned frames; each
 * worker thread has its own libcurl handle (and so its own connection).
 */
#include "uploader.h"

#include "core/str.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX   16
#define WORKERS_MAX 16

struct job {
    uint8_t id[BH_SHA256_LEN];
    void *z;
    size_t zlen;
};

struct bh_uploader {
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    struct job q[QUEUE_MAX];
    size_t head, n;
    bool closing;
    int failed;
    struct bh_err err;
    uint64_t chunks, bytes;
    struct bh_cli conn[WORKERS_MAX];
    pthread_t th[WORKERS_MAX];
    int nthreads;
};

static int send_one(struct bh_cli *c, const struct job *j, struct bh_err *err)
{
    char hex[BH_SHA256_HEX], path[128];
    bh_hex_id(j->id, hex);
    snprintf(path, sizeof(path), "/api/v1/chunks/%s", hex);
    struct bh_resp r;
    int rc = bh_cli_request(c, "PUT", path, "application/zstd", j->z, j->zlen, NULL, &r, err);
    if (rc)
        return rc;
    if (r.status != 200 && r.status != 201)
        rc = bh_err_set(err, BH_EIO, "chunk", "the server refused chunk %s: HTTP %ld %s", hex,
                        r.status, r.body ? r.body : "");
    bh_resp_free(&r);
    return rc;
}

static void *worker(void *arg)
{
    struct bh_uploader *u = arg;
    pthread_mutex_lock(&u->mu);
    int me = 0;
    while (me < u->nthreads && !pthread_equal(u->th[me], pthread_self()))
        me++;
    for (;;) {
        while (!u->n && !u->closing)
            pthread_cond_wait(&u->can_get, &u->mu);
        if (!u->n)
            break;
        struct job j = u->q[u->head];
        u->head = (u->head + 1) % QUEUE_MAX;
        u->n--;
        pthread_cond_signal(&u->can_put);
        pthread_mutex_unlock(&u->mu);
        struct bh_err e;
        int rc = u->failed ? 0 : send_one(&u->conn[me], &j, &e);
        free(j.z);
        pthread_mutex_lock(&u->mu);
        if (rc && !u->failed) {
            u->failed = rc;
            u->err = e;
            pthread_cond_broadcast(&u->can_put);
        } else if (!rc) {
            u->chunks++;
            u->bytes += j.zlen;
        }
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

int bh_uploader_start(const struct bh_cli *c, int n, struct bh_uploader **out, struct bh_err *err)
{
    if (n < 1)
        n = 1;
    if (n > WORKERS_MAX)
        n = WORKERS_MAX;
    struct bh_uploader *u = calloc(1, sizeof(*u));
    if (!u)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->can_put, NULL);
    pthread_cond_init(&u->can_get, NULL);
    pthread_mutex_lock(&u->mu); /* workers find their index once all are started */
    for (int i = 0; i < n; i++) {
        u->conn[i] = *c;
        u->conn[i].curl = curl_easy_init();
        if (!u->conn[i].curl || pthread_create(&u->th[i], NULL, worker, u) != 0) {
            if (u->conn[i].curl)
                curl_easy_cleanup(u->conn[i].curl);
            break;
        }
        u->nthreads++;
    }
    pthread_mutex_unlock(&u->mu);
    if (u->nthreads == 0) {
        free(u);
        return bh_err_set(err, BH_ENOMEM, NULL, "cannot start upload connections");
    }
    *out = u;
    return 0;
}

int bh_uploader_put(struct bh_uploader *u, const uint8_t id[BH_SHA256_LEN], const void *z,
                    size_t zlen, struct bh_err *err)
{
    void *copy = malloc(zlen ? zlen : 1);
    if (!copy)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    memcpy(copy, z, zlen);
    pthread_mutex_lock(&u->mu);
    while (u->n == QUEUE_MAX && !u->failed)
        pthread_cond_wait(&u->can_put, &u->mu);
    int rc = u->failed;
    if (rc) {
        if (err)
            *err = u->err;
        free(copy);
    } else {
        struct job *j = &u->q[(u->head + u->n) % QUEUE_MAX];
        memcpy(j->id, id, BH_SHA256_LEN);
        j->z = copy;
        j->zlen = zlen;
        u->n++;
        pthread_cond_signal(&u->can_get);
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

int bh_uploader_finish(struct bh_uploader *u, uint64_t *chunks, uint64_t *bytes, struct bh_err *err)
{
    pthread_mutex_lock(&u->mu);
    u->closing = true;
    pthread_cond_broadcast(&u->can_get);
    pthread_mutex_unlock(&u->mu);
    for (int i = 0; i < u->nthreads; i++) {
        pthread_join(u->th[i], NULL);
        curl_easy_cleanup(u->conn[i].curl);
        explicit_bzero(u->conn[i].token, sizeof(u->conn[i].token));
    }
    int rc = u->failed;
    if (rc && err)
        *err = u->err;
    *chunks = u->chunks;
    *bytes = u->bytes;
    pthread_cond_destroy(&u->can_put);
    pthread_cond_destroy(&u->can_get);
    pthread_mutex_destroy(&u->mu);
    free(u);
    return rc;
}
