/*
 * session.c - browser sessions for the console: POST/GET/DELETE
 * /api/v1/session, the cookie as a credential, CSRF and Origin checks, and
 * the limit on failed logins.
 *
 * Why a session and not the token in the browser: a token in JavaScript's
 * reach (localStorage) is stolen by any script injection; an HttpOnly
 * cookie is not readable by script, and SameSite=Strict keeps other sites'
 * pages from sending it.  The session's secret is 32 random bytes; the store
 * keeps its SHA-256 only.  The CSRF token is derived from the secret
 * (SHA-256 of a label and the secret), so it needs no storage, survives a
 * restart, and cannot be computed from what the store holds.  A write that
 * authenticates by cookie must echo it in X-CSRF-Token (synchronizer-token
 * pattern); a page of another origin can neither read it nor set that
 * header without a CORS preflight this server never grants.
 *
 * The session carries no role of its own: each request reads the token it
 * was traded for, so a role change applies at once, and a revoked or expired
 * token ends the session.  Last use is written at most once a minute (or
 * twice per idle period when that is shorter), not on every request.
 *
 * Owner: the API layer; the store holds the sessions (sqlite_session.c).
 */
#include "api.h"

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "http/browser.h"

#include <arpa/inet.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COOKIE_NAME    "bh_session"
#define COOKIE_TLS     "__Host-bh_session" /* RFC 6265bis 4.1.3.2: no Domain, Path=/, Secure */
#define SECRET_BYTES   32
#define SECRET_LEN     43 /* base64url of 32 bytes, unpadded */
#define CSRF_LEN       43
#define CSRF_LABEL     "bootherd csrf\n"
#define COOKIE_TRIES   4 /* bh_session cookies looked at (a parent domain may add some) */
#define IDLE_DEFAULT   (1800LL * 1000)
#define MAX_DEFAULT    (12LL * 3600 * 1000)
#define TOUCH_EVERY_MS (60LL * 1000)
#define LIMIT_SLOTS    256
#define KEY_LEN        (INET6_ADDRSTRLEN + 8) /* an address, or an IPv6 /64 */

/* ---- failed logins per address ------------------------------------------ */

struct login_slot {
    char addr[KEY_LEN];
    int64_t start_ms; /* the window's start; 0: free */
    unsigned fails;
};

struct bh_login_limit {
    pthread_mutex_t mu;
    struct login_slot slot[LIMIT_SLOTS];
};

struct bh_login_limit *bh_login_limit_new(void)
{
    struct bh_login_limit *l = calloc(1, sizeof(*l));
    if (l)
        pthread_mutex_init(&l->mu, NULL);
    return l;
}

void bh_login_limit_free(struct bh_login_limit *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The limiter's key: the address, or for IPv6 its /64 (one host may use
 * a whole /64, so counting per /128 limits nothing). */
static void addr_key(const char *addr, char key[KEY_LEN])
{
    struct in6_addr a6;
    if (inet_pton(AF_INET6, addr, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
        memset(a6.s6_addr + 8, 0, 8);
        char t[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6, t, sizeof(t));
        snprintf(key, KEY_LEN, "%s/64", t);
    } else
        bh_strlcpy(key, addr, KEY_LEN);
}

static struct login_slot *slot_of(struct bh_login_limit *l, const char *key, bool make)
{
    for (size_t i = 0; i < LIMIT_SLOTS; i++)
        if (l->slot[i].start_ms && !strcmp(l->slot[i].addr, key))
            return &l->slot[i];
    if (!make)
        return NULL;
    struct login_slot *s = &l->slot[0]; /* a free slot, or the one whose window began first */
    for (size_t i = 0; i < LIMIT_SLOTS; i++) {
        if (!l->slot[i].start_ms) {
            s = &l->slot[i];
            break;
        }
        if (l->slot[i].start_ms < s->start_ms)
            s = &l->slot[i];
    }
    bh_strlcpy(s->addr, key, sizeof(s->addr));
    s->start_ms = 0;
    return s;
}

int64_t bh_login_limit_try(struct bh_login_limit *l, const char *addr, int64_t now_ms)
{
    char key[KEY_LEN];
    int64_t wait = 0;
    addr_key(addr, key);
    pthread_mutex_lock(&l->mu);
    struct login_slot *s = slot_of(l, key, true);
    if (!s->start_ms || now_ms - s->start_ms >= BH_LOGIN_FAIL_WINDOW_MS) {
        s->start_ms = now_ms > 0 ? now_ms : 1;
        s->fails = 0;
    }
    if (s->fails >= BH_LOGIN_FAIL_MAX)
        wait = (s->start_ms + BH_LOGIN_FAIL_WINDOW_MS - now_ms + 999) / 1000;
    else
        s->fails++; /* counted before the check: parallel tries cannot pass the limit */
    pthread_mutex_unlock(&l->mu);
    return wait;
}

void bh_login_limit_ok(struct bh_login_limit *l, const char *addr)
{
    char key[KEY_LEN];
    addr_key(addr, key);
    pthread_mutex_lock(&l->mu);
    struct login_slot *s = slot_of(l, key, false);
    if (s && s->fails)
        s->fails--;
    pthread_mutex_unlock(&l->mu);
}

/* ---- the secret, its hash and its CSRF token ---------------------------- */

static int64_t idle_ms(const struct bh_api *api)
{
    return api->session_idle_ms > 0 ? api->session_idle_ms : IDLE_DEFAULT;
}

static int64_t max_ms(const struct bh_api *api)
{
    return api->session_max_ms > 0 ? api->session_max_ms : MAX_DEFAULT;
}

static void sha256_hex(const char *s, char hash[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    bh_hex(d, sizeof(d), hash);
}

static void csrf_of(const char *secret, char out[CSRF_LEN + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    char in[sizeof(CSRF_LABEL) + SECRET_LEN];
    int n = snprintf(in, sizeof(in), "%s%s", CSRF_LABEL, secret);
    SHA256((const unsigned char *)in, n > 0 ? (size_t)n : 0, d);
    char b[48];
    bh_b64url(d, sizeof(d), b);
    memcpy(out, b, CSRF_LEN);
    out[CSRF_LEN] = '\0';
}

static bool secret_ok(const char *v, size_t n)
{
    if (n != SECRET_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Set-Cookie for the secret, or (secret NULL) one that clears it */
/* Over TLS the cookie's name has the __Host- prefix: a browser takes it
 * only from this very host, over HTTPS, for the whole site, so a sibling
 * host of a shared parent domain cannot plant (toss) a session of its own. */
static const char *cookie_name(struct bh_req *r)
{
    return bh_req_secure(r) ? COOKIE_TLS : COOKIE_NAME;
}

static void set_cookie(struct bh_req *r, const char *secret)
{
    char v[160];
    snprintf(v, sizeof(v), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", cookie_name(r),
             secret ? secret : "", secret ? "" : "; Max-Age=0", bh_req_secure(r) ? "; Secure" : "");
    bh_reply_header(r, "Set-Cookie", v);
}

/* ---- the session a request's cookie names ------------------------------- */

struct live {
    char secret[SECRET_LEN + 1];
    char hash[65];
    struct bh_session_info info;
    struct bh_token_info tok;
};

/* Why the session s (found) is over, or NULL if it lives; BH_EIO-ish
 * failures to read the token come back as *rc. */
static const char *dead_why(struct bh_api *api, struct live *s, int64_t now, int *rc)
{
    struct bh_err e;
    *rc = 0;
    if (now >= s->info.expires_ms)
        return "the browser session reached its end: log in again";
    if (now - s->info.last_ms > idle_ms(api))
        return "the browser session was idle too long: log in again";
    int r = bh_store_token_lookup(api->store, s->info.token_id, &s->tok, &e);
    if (r == BH_ENOTFOUND)
        return "the token of this browser session was revoked";
    if (r) {
        *rc = r;
        return NULL;
    }
    if (s->tok.expires_ms <= now)
        return "the token of this browser session has expired";
    if (s->tok.role == BH_ROLE_NONE)
        return "the token of this browser session has no role";
    return NULL;
}

/* Find the live session of the request's bh_session cookie.  Dead sessions
 * met on the way are removed; a cookie that names none gets cleared. */
static int live_session(struct bh_api *api, struct bh_req *r, struct live *s, struct bh_err *err)
{
    const char *hdr = bh_req_header(r, "Cookie");
    size_t hl = hdr ? strnlen(hdr, BH_COOKIE_HEADER_MAX + 1) : 0;
    const char *why = NULL;
    int64_t now = bh_wall_ms();
    for (size_t k = 0; hdr && k < COOKIE_TRIES; k++) {
        const char *v;
        size_t n;
        if (!bh_cookie_find(hdr, hl, cookie_name(r), k, &v, &n))
            break;
        if (!secret_ok(v, n)) {
            why = "malformed session cookie: log in again";
            continue;
        }
        memcpy(s->secret, v, n);
        s->secret[n] = '\0';
        sha256_hex(s->secret, s->hash);
        struct bh_err e;
        int rc = bh_store_session_get(api->store, s->hash, &s->info, &e);
        if (rc == BH_ENOTFOUND) {
            why = "the browser session has ended: log in again";
            continue;
        }
        const char *dead = rc ? NULL : dead_why(api, s, now, &rc);
        if (rc)
            return bh_err_set(err, BH_EAUTH, NULL, "cannot check the browser session now");
        if (!dead)
            return 0;
        bh_store_session_end(api->store, s->hash, NULL, NULL, NULL);
        why = dead;
    }
    if (!why)
        return bh_err_set(err, BH_EAUTH, NULL,
                          "missing credentials: send 'Authorization: Bearer <token>', or log in "
                          "(POST /api/v1/session) and send the session cookie");
    set_cookie(r, NULL);
    return bh_err_set(err, BH_EAUTH, NULL, "%s", why);
}

int bh_api_session_recheck(struct bh_api *api, const struct bh_auth *a, struct bh_err *err)
{
    struct live s;
    struct bh_err e;
    int rc = bh_store_session_get(api->store, a->session_hash, &s.info, &e);
    if (rc == BH_ENOTFOUND)
        return bh_err_set(err, BH_EAUTH, NULL, "the browser session has ended: log in again");
    const char *dead = rc ? NULL : dead_why(api, &s, bh_wall_ms(), &rc);
    if (rc)
        return 0; /* cannot tell now: the next check asks again */
    if (dead)
        return bh_err_set(err, BH_EAUTH, NULL, "%s", dead);
    if (s.tok.role != a->role)
        return bh_err_set(err, BH_EAUTH, NULL,
                          "the role of this browser session's token changed: connect again");
    return 0;
}

static bool safe_method(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

int bh_api_session_auth(struct bh_api *api, struct bh_req *r, struct bh_auth *auth,
                        struct bh_err *err)
{
    struct live s;
    int rc = live_session(api, r, &s, err);
    if (rc)
        return rc;
    if (!safe_method(bh_req_method(r))) {
        char csrf[CSRF_LEN + 1];
        csrf_of(s.secret, csrf);
        const char *h = bh_req_header(r, "X-CSRF-Token");
        if (!h)
            return bh_err_sett(err, BH_EPERM, "csrf", "X-CSRF-Token",
                               "a write with the session cookie needs the header X-CSRF-Token "
                               "(the csrf of POST or GET /api/v1/session)");
        if (strlen(h) != CSRF_LEN || !bh_ct_equal(h, csrf, CSRF_LEN))
            return bh_err_sett(err, BH_EPERM, "csrf", "X-CSRF-Token",
                               "X-CSRF-Token does not belong to this session");
    }
    /* RFC 6455 10.2: a browser names the page that opens a WebSocket; the
     * cookie goes along whatever page it is, SameSite aside */
    if (bh_req_header(r, "Upgrade") &&
        !bh_origin_same(bh_req_header(r, "Origin"), bh_req_header(r, "Host"), bh_req_secure(r)))
        return bh_err_sett(err, BH_EPERM, "origin", "Origin",
                           "a WebSocket with the session cookie must come from this server's own "
                           "pages: Origin must name the scheme, host and port of Host");
    int64_t now = bh_wall_ms();
    int64_t every = idle_ms(api) / 2 < TOUCH_EVERY_MS ? idle_ms(api) / 2 : TOUCH_EVERY_MS;
    if (now - s.info.last_ms >= every)
        bh_store_session_touch(api->store, s.hash, now, NULL);
    memset(auth, 0, sizeof(*auth));
    auth->role = s.tok.role;
    bh_strlcpy(auth->name, s.tok.name, sizeof(auth->name));
    bh_strlcpy(auth->token_id, s.info.token_id, sizeof(auth->token_id));
    auth->session = true;
    bh_strlcpy(auth->session_hash, s.hash, sizeof(auth->session_hash));
    return 0;
}

/* ---- the handlers -------------------------------------------------------- */

static json_t *session_json(const char *name, enum bh_role role, const char *csrf, int64_t idle,
                            int64_t expires_ms)
{
    char ts[BH_TIME_STRLEN];
    bh_time_format(expires_ms, ts);
    return json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", name, "role", bh_role_name(role), "csrf",
                     csrf, "idle_timeout", (json_int_t)(idle / 1000), "expires", ts);
}

static void unauthenticated(struct bh_req *r, const char *detail)
{
    bh_reply_header(r, "WWW-Authenticate", "Bearer realm=\"bootherd\"");
    bh_reply_problem(r, 401, "unauthenticated", "Unauthenticated", detail, NULL);
}

/* The body: exactly {"token": STRING}. */
static const char *login_token(struct bh_req *r, json_t **body)
{
    const char *ct = bh_req_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        /* a form of another site cannot send this type without a preflight */
        bh_reply_problem(r, 415, "unsupported-media-type", "Unsupported media type",
                         "send {\"token\": \"bh_...\"} as application/json", NULL);
        return NULL;
    }
    *body = bh_req_json(r);
    if (!*body)
        return NULL;
    const char *k;
    json_t *v;
    if (!json_is_object(*body)) {
        bh_reply_problem(r, 422, "invalid-value", "Invalid request",
                         "the body must be an object: {\"token\": \"bh_...\"}", NULL);
        return NULL;
    }
    json_object_foreach(*body, k, v)
    {
        if (strcmp(k, "token") != 0) {
            char detail[160];
            snprintf(detail, sizeof(detail), "unknown field '%.64s': the body is {\"token\": ...}",
                     k);
            bh_reply_problem(r, 422, "unknown-field", "Invalid request", detail, k);
            return NULL;
        }
    }
    v = json_object_get(*body, "token");
    if (!json_is_string(v)) {
        bh_reply_problem(r, 422, "invalid-value", "Invalid request",
                         v ? "token must be a string" : "token is required", "token");
        return NULL;
    }
    return json_string_value(v);
}

/* A login from a browser that still holds a session ends that one: a
 * browser has one session, and a session fixed by someone else's cookie
 * does not survive the login (bookkeeping: no event). */
static void end_old_sessions(struct bh_api *api, struct bh_req *r)
{
    const char *hdr = bh_req_header(r, "Cookie");
    size_t hl = hdr ? strnlen(hdr, BH_COOKIE_HEADER_MAX + 1) : 0;
    for (size_t k = 0; hdr && k < COOKIE_TRIES; k++) {
        const char *v;
        size_t n;
        char secret[SECRET_LEN + 1], hash[65];
        if (!bh_cookie_find(hdr, hl, cookie_name(r), k, &v, &n))
            break;
        if (!secret_ok(v, n))
            continue;
        memcpy(secret, v, n);
        secret[n] = '\0';
        sha256_hex(secret, hash);
        bh_store_session_end(api->store, hash, NULL, NULL, NULL);
    }
}

/* The login itself; false when the token was refused (a failure the
 * limiter keeps), true for every other answer. */
static bool login(struct bh_api *api, struct bh_req *r, const char *remote, int64_t now)
{
    json_t *body = NULL;
    const char *tok = login_token(r, &body);
    if (!tok) {
        json_decref(body);
        return true;
    }
    struct bh_auth a = {0};
    struct bh_err e;
    int64_t tok_exp = 0;
    int rc = bh_api_check_token(api, tok, &a, &tok_exp, &e);
    json_decref(body);
    if (rc) {
        bh_log(BH_LOG_INFO, "console login refused", "remote=%s why=%s", remote, e.msg);
        unauthenticated(r, e.msg);
        return false;
    }
    if (a.host[0] || a.role == BH_ROLE_NONE) {
        bh_reply_problem(r, 403, "forbidden", "Forbidden",
                         "a host token (a client agent's) cannot open a console session", "token");
        return true;
    }
    unsigned char rnd[SECRET_BYTES];
    char b[48], secret[SECRET_LEN + 1], hash[65], csrf[CSRF_LEN + 1], ts[BH_TIME_STRLEN];
    if (bh_random(rnd, sizeof(rnd))) {
        bh_reply_problem(r, 500, "internal", "Internal error", "no randomness", NULL);
        return true;
    }
    bh_b64url(rnd, sizeof(rnd), b);
    memcpy(secret, b, SECRET_LEN);
    secret[SECRET_LEN] = '\0';
    sha256_hex(secret, hash);
    csrf_of(secret, csrf);
    int64_t expires = now + max_ms(api) < tok_exp ? now + max_ms(api) : tok_exp;
    bh_time_format(expires, ts);
    json_t *data = json_pack("{s:s, s:s}", "expires", ts, "remote", remote);
    struct bh_actor act = {a.name, a.token_id, remote};
    struct bh_session_new n = {hash, a.token_id, a.name, now, expires, now - idle_ms(api), data};
    rc = bh_store_session_create(api->store, &n, &act, &e);
    json_decref(data);
    if (rc == BH_ENOREF) {
        unauthenticated(r, "unknown or revoked token");
        return true;
    }
    if (rc) {
        bh_reply_err(r, &e);
        return true;
    }
    end_old_sessions(api, r);
    bh_log(BH_LOG_INFO, "console login", "token=%s remote=%s", a.name, remote);
    set_cookie(r, secret);
    bh_reply_json(r, 201, session_json(a.name, a.role, csrf, idle_ms(api), expires));
    return true;
}

void bh_h_session_create(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    const char *remote = bh_req_remote(r);
    int64_t now = bh_wall_ms();
    const char *origin = bh_req_header(r, "Origin");
    if (origin && !bh_origin_same(origin, bh_req_header(r, "Host"), bh_req_secure(r))) {
        bh_reply_problem(r, 403, "origin", "Forbidden",
                         "a login must come from this server's own pages: Origin must name the "
                         "scheme, host and port of Host",
                         "Origin");
        return;
    }
    int64_t wait = api->login_limit ? bh_login_limit_try(api->login_limit, remote, now) : 0;
    if (wait > 0) {
        char ra[24], detail[160];
        snprintf(ra, sizeof(ra), "%lld", (long long)wait);
        snprintf(detail, sizeof(detail),
                 "%d failed logins from your address within a minute; try again in %lld s",
                 BH_LOGIN_FAIL_MAX, (long long)wait);
        bh_reply_header(r, "Retry-After", ra);
        bh_reply_problem(r, 429, "too-many-requests", "Too many requests", detail, NULL);
        return;
    }
    if (login(api, r, remote, now) && api->login_limit)
        bh_login_limit_ok(api->login_limit, remote); /* only a refused token counts */
}

/* GET and DELETE answer the cookie only: a Bearer token has no session */
static bool session_of(struct bh_req *r, struct live *s)
{
    struct bh_err e;
    if (!bh_req_auth(r)->session) {
        unauthenticated(r, "no browser session: this answers the session cookie only (log in with "
                           "POST /api/v1/session)");
        return false;
    }
    if (live_session(bh_api_ctx(r), r, s, &e)) {
        unauthenticated(r, e.msg);
        return false;
    }
    return true;
}

void bh_h_session_get(struct bh_req *r)
{
    struct live s;
    if (!session_of(r, &s))
        return;
    char csrf[CSRF_LEN + 1];
    csrf_of(s.secret, csrf);
    int64_t end = s.info.expires_ms < s.tok.expires_ms ? s.info.expires_ms : s.tok.expires_ms;
    bh_reply_json(r, 200, session_json(s.tok.name, s.tok.role, csrf, idle_ms(bh_api_ctx(r)), end));
}

void bh_h_session_delete(struct bh_req *r)
{
    struct live s;
    if (!session_of(r, &s))
        return;
    struct bh_actor act = bh_api_actor(r);
    struct bh_err e;
    if (bh_store_session_end(bh_api_ctx(r)->store, s.hash, s.tok.name, &act, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    bh_log(BH_LOG_INFO, "console logout", "token=%s remote=%s", s.tok.name, bh_req_remote(r));
    set_cookie(r, NULL);
    bh_reply_empty(r, 204);
}
