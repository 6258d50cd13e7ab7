/*
 * auth.c - Bearer tokens.  Only a SHA-256 of each token is stored; the
 * lookup goes by the public id embedded in the token, then the hashes are
 * compared in constant time.  A request without a token may bring a
 * browser session's cookie instead (session.c).
 */
#include "api.h"

#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *bearer(struct bh_req *r)
{
    const char *h = bh_req_header(r, "Authorization");
    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    /* browsers cannot set headers on a WebSocket handshake */
    const struct bh_route *rt = bh_req_route(r);
    if (rt && strcmp(rt->pattern, "/api/v1/events") == 0)
        return bh_req_query(r, "access_token");
    return NULL;
}

int bh_api_check_token(struct bh_api *api, const char *tok, struct bh_auth *auth,
                       int64_t *expires_ms, struct bh_err *err)
{
    char tid[BH_TOKEN_ID_LEN + 1], hash[65];
    struct bh_token_info ti = {0};
    if (bh_token_parse(tok, tid, hash))
        return bh_err_set(err, BH_EAUTH, NULL, "malformed token");
    int rc = bh_store_token_lookup(api->store, tid, &ti, err);
    if (rc == BH_ENOTFOUND) { /* a client agent's host token? */
        char mac[BH_MAC_STRLEN], shash[65];
        int64_t exp;
        int64_t now = bh_wall_ms();
        if (bh_store_agent_session(api->store, tid, mac, shash, &exp, NULL) == 0 &&
            bh_ct_equal(shash, hash, 64) && exp > now) {
            /* the agent is at work: its session goes on */
            if (exp - now < BH_AGENT_TOKEN_TTL_MS - BH_AGENT_TOKEN_RENEW_MS)
                bh_store_agent_renew(api->store, tid, now + BH_AGENT_TOKEN_TTL_MS, NULL);
            auth->role = BH_ROLE_NONE;
            snprintf(auth->name, sizeof(auth->name), "agent:%s", mac);
            bh_strlcpy(auth->token_id, tid, sizeof(auth->token_id));
            bh_strlcpy(auth->host, mac, sizeof(auth->host));
            if (expires_ms)
                *expires_ms = exp;
            return 0;
        }
    }
    if (rc == BH_ENOTFOUND || (!rc && !bh_ct_equal(ti.hash, hash, 64)))
        return bh_err_set(err, BH_EAUTH, NULL, "unknown or revoked token");
    if (rc)
        return bh_err_set(err, BH_EAUTH, NULL, "cannot check the token now");
    if (ti.expires_ms <= bh_wall_ms())
        return bh_err_set(err, BH_EAUTH, NULL, "token '%s' has expired", ti.name);
    auth->role = ti.role;
    bh_strlcpy(auth->name, ti.name, sizeof(auth->name));
    bh_strlcpy(auth->token_id, tid, sizeof(auth->token_id));
    if (expires_ms)
        *expires_ms = ti.expires_ms;
    return 0;
}

int bh_api_recheck(struct bh_api *api, const struct bh_auth *a, struct bh_err *err)
{
    if (a->session)
        return bh_api_session_recheck(api, a, err);
    int64_t now = bh_wall_ms();
    if (a->host[0]) {
        char mac[BH_MAC_STRLEN], hash[65];
        int64_t exp;
        int rc = bh_store_agent_session(api->store, a->token_id, mac, hash, &exp, NULL);
        if (rc == BH_ENOTFOUND || (!rc && exp <= now))
            return bh_err_set(err, BH_EAUTH, NULL, "the agent's session has ended");
        return 0;
    }
    struct bh_token_info ti;
    int rc = bh_store_token_lookup(api->store, a->token_id, &ti, NULL);
    if (rc == BH_ENOTFOUND)
        return bh_err_set(err, BH_EAUTH, NULL, "the token was revoked");
    if (rc)
        return 0; /* cannot tell now */
    if (ti.expires_ms <= now)
        return bh_err_set(err, BH_EAUTH, NULL, "the token has expired");
    if (ti.role != a->role)
        return bh_err_set(err, BH_EAUTH, NULL, "the token's role changed: connect again");
    return 0;
}

/* The route's need is its least role (api.c's table): a caller below it
 * is known but may not use the route. */
static int authorize(struct bh_req *r, const struct bh_auth *auth, struct bh_err *err)
{
    const struct bh_route *rt = bh_req_route(r);
    if (!rt || auth->role >= rt->need)
        return 0;
    return bh_err_sett(err, BH_EPERM, "forbidden", NULL, "token '%s' has role %s; this needs %s",
                       auth->name, bh_role_name(auth->role), bh_role_name(rt->need));
}

int bh_api_authenticate(void *ud, struct bh_req *r, struct bh_auth *auth, struct bh_err *err)
{
    struct bh_api *api = ud;
    const char *tok = bearer(r);
    int rc;
    if (tok) /* a token wins over a cookie, and needs no CSRF token */
        rc = bh_api_check_token(api, tok, auth, NULL, err);
    else if (bh_req_header(r, "Cookie"))
        rc = bh_api_session_auth(api, r, auth, err);
    else
        return bh_err_set(err, BH_EAUTH, NULL,
                          "missing credentials: send 'Authorization: Bearer <token>', or log in "
                          "(POST /api/v1/session) and send the session cookie");
    return rc ? rc : authorize(r, auth, err);
}
