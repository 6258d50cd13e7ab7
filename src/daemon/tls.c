/*
 * tls.c - the daemon's side of HTTPS: `bootherd init --tls` makes a
 * self-signed certificate under DATA/tls/ and turns TLS on in
 * DATA/bootherd.conf; `serve` reads and checks [http] tls_cert and tls_key
 * before it leaves root.  The certificate work itself is core/tlscert.c;
 * this file owns the files.  Owner: issue 10's HTTPS work.
 *
 * Why opt-in: a fresh `make run` must answer a browser at
 * http://127.0.0.1:8080/, and a self-signed certificate makes every
 * browser warn; an admin who wants HTTPS asks for it once.
 */
#include "daemon.h"

#include "config.h"
#include "core/buf.h"
#include "core/ini.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONF_MAX    (1u << 20)
#define WARN_DAYS   30 /* warn this long before the certificate ends */
#define DAY_SECONDS 86400

static int read_pem(const char *what, const char *path, char **out, size_t *len, struct bh_err *err)
{
    struct bh_err e;
    if (bh_read_file(path, BH_TLS_PEM_MAX, out, len, &e))
        return bh_err_set(err, BH_EIO, what, "[http] %s = %s: %s", what, path, e.msg);
    return 0;
}

int bh_tls_load(const struct bh_config *c, struct bh_tls_pem *pem, struct bh_tls_info *info,
                struct bh_err *err)
{
    memset(pem, 0, sizeof(*pem));
    if (read_pem("tls_cert", c->http_tls_cert, &pem->cert, &pem->cert_len, err) ||
        read_pem("tls_key", c->http_tls_key, &pem->key, &pem->key_len, err)) {
        bh_tls_pem_free(pem);
        return BH_EIO;
    }
    struct bh_err e;
    if (bh_tls_check_pair(pem->cert, pem->cert_len, pem->key, pem->key_len, info, &e)) {
        bh_tls_pem_free(pem);
        return bh_err_set(err, BH_EINVAL, "tls_key", "[http] tls_cert = %s, tls_key = %s: %s",
                          c->http_tls_cert, c->http_tls_key, e.msg);
    }
    struct stat st;
    if (stat(c->http_tls_key, &st) == 0 && (st.st_mode & 0077))
        bh_log(BH_LOG_WARN, "the TLS key is readable by others", "file=%s mode=%04o hint=%s",
               c->http_tls_key, (unsigned)(st.st_mode & 07777), "chmod 600 it");
    int64_t now = (int64_t)time(NULL);
    if (info->not_after && info->not_after < now)
        bh_log(BH_LOG_ERROR, "the TLS certificate has expired; clients will refuse it",
               "file=%s subject=%s", c->http_tls_cert, info->subject);
    else if (info->not_after && info->not_after < now + WARN_DAYS * DAY_SECONDS)
        bh_log(BH_LOG_WARN, "the TLS certificate ends soon", "file=%s days=%lld", c->http_tls_cert,
               (long long)((info->not_after - now) / DAY_SECONDS));
    return 0;
}

/* ---- bootherd init --tls --------------------------------------------------- */

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The certificate's names: this machine's name, localhost and the
 * loopback addresses, then what the admin added. */
static size_t tls_names(const char *const *extra, size_t nextra, const char **names, char *host,
                        size_t hcap)
{
    size_t n = 0;
    if (gethostname(host, hcap) == 0) {
        host[hcap - 1] = '\0';
        if (bh_tls_name_valid(host) && strcmp(host, "localhost") != 0)
            names[n++] = host;
    }
    names[n++] = "localhost";
    names[n++] = "127.0.0.1";
    names[n++] = "::1";
    for (size_t i = 0; i < nextra && n < BH_TLS_MAX_NAMES; i++)
        names[n++] = extra[i];
    return n;
}

/* What DIR/bootherd.conf says about TLS (defaults if there is none). */
static int conf_read(const char *path, struct bh_config *c, struct bh_err *err)
{
    bh_config_defaults(c);
    return exists(path) && bh_config_load(c, path, err) ? BH_EINVAL : 0;
}

/* DIR/bootherd.conf: turn TLS on, keeping what the file says. */
static int conf_enable(const char *path, struct bh_err *err)
{
    static const char block[] =
        "\n# HTTPS, added by `bootherd init --tls` (docs/admin-guide.md, "
        "\"HTTPS\")\n[http]\ntls_cert = " BH_TLS_CERT_FILE "\ntls_key = " BH_TLS_KEY_FILE "\n";
    char *text = NULL;
    size_t len = 0;
    if (exists(path) && bh_read_file(path, CONF_MAX, &text, &len, err))
        return BH_EIO;
    struct stat st;
    int mode = stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : 0640;
    struct bh_buf b;
    bh_buf_init(&b, CONF_MAX + sizeof(block));
    int rc = text ? bh_buf_add(&b, text, len) : 0;
    if (!rc && !text)
        rc = bh_buf_printf(&b, "# bootherd.conf (docs/admin-guide.md has every key)\n");
    if (!rc)
        rc = bh_buf_add(&b, block, sizeof(block) - 1);
    free(text);
    if (rc) {
        bh_buf_free(&b);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    rc = bh_write_file_atomic(path, b.p, b.len, mode, err);
    bh_buf_free(&b);
    return rc;
}

/* The config names the admin's own certificate: say so, with its pin.
 * Relative paths are relative to DIR, as for serve. */
static int conf_named(const char *dir, const struct bh_config *c, struct bh_err *err)
{
    char path[PATH_MAX + 32], pin[BH_TLS_PIN_MAX], *pem;
    size_t len;
    if (c->http_tls_cert[0] == '/')
        bh_strlcpy(path, c->http_tls_cert, sizeof(path));
    else
        snprintf(path, sizeof(path), "%s/%s", dir, c->http_tls_cert);
    printf("%s/bootherd.conf names a certificate of its own (%s); nothing made\n", dir, path);
    int rc = bh_read_file(path, BH_TLS_PEM_MAX, &pem, &len, err);
    if (!rc) {
        rc = bh_tls_cert_pin(pem, len, pin, err);
        free(pem);
    }
    if (!rc)
        printf("pin: %s\n", pin);
    return rc;
}

int bh_tls_init(const char *dir, const char *const *extra, size_t nextra, struct bh_err *err)
{
    char tdir[PATH_MAX], cert[PATH_MAX + 32], key[PATH_MAX + 32], conf[PATH_MAX + 32];
    char host[256];
    struct bh_config c;
    snprintf(conf, sizeof(conf), "%s/bootherd.conf", dir);
    if (conf_read(conf, &c, err))
        return BH_EINVAL;
    bool on = c.http_tls_cert[0] || c.http_tls_key[0];
    if (on &&
        (strcmp(c.http_tls_cert, BH_TLS_CERT_FILE) || strcmp(c.http_tls_key, BH_TLS_KEY_FILE)))
        return conf_named(dir, &c, err);
    snprintf(tdir, sizeof(tdir), "%s/%s", dir, BH_TLS_DIR);
    snprintf(cert, sizeof(cert), "%s/%s", dir, BH_TLS_CERT_FILE);
    snprintf(key, sizeof(key), "%s/%s", dir, BH_TLS_KEY_FILE);
    if (mkdir(tdir, 0750) < 0 && errno != EEXIST)
        return bh_err_set(err, BH_ESYS, NULL, "cannot create %s: %s", tdir, strerror(errno));
    struct bh_tls_info info;
    bool made = false;
    if (exists(cert)) {
        /* keep it: its pin is what the clients know */
        struct bh_config k;
        bh_config_defaults(&k);
        bh_strlcpy(k.http_tls_cert, cert, sizeof(k.http_tls_cert));
        bh_strlcpy(k.http_tls_key, key, sizeof(k.http_tls_key));
        struct bh_tls_pem pem;
        if (bh_tls_load(&k, &pem, &info, err))
            return BH_EINVAL;
        bh_tls_pem_free(&pem);
    } else {
        const char *names[BH_TLS_MAX_NAMES];
        size_t n = tls_names(extra, nextra, names, host, sizeof(host));
        struct bh_tls_pem pem;
        int rc = bh_tls_self_signed(names, n, BH_TLS_DAYS, &pem, err);
        /* the key first: a kill between the two leaves a key without its
         * certificate, which the next run replaces, never the reverse */
        if (!rc)
            rc = bh_write_file_atomic(key, pem.key, pem.key_len, 0600, err);
        if (!rc)
            rc = bh_write_file_atomic(cert, pem.cert, pem.cert_len, 0644, err);
        if (!rc)
            rc = bh_tls_check_pair(pem.cert, pem.cert_len, pem.key, pem.key_len, &info, err);
        bh_tls_pem_free(&pem);
        if (rc)
            return rc;
        made = true;
        printf("made a self-signed TLS certificate for");
        for (size_t i = 0; i < n; i++)
            printf("%s %s", i ? "," : "", names[i]);
        printf(" (%d days):\n  %s\n  %s (mode 0600)\n", BH_TLS_DAYS, cert, key);
    }
    if (!made)
        printf("%s already has a TLS certificate (%s); kept it\n", dir, cert);
    if (!on && conf_enable(conf, err))
        return BH_EIO;
    if (!on)
        printf("turned HTTPS on in %s ([http] tls_cert, tls_key); booting machines use plain "
               "HTTP on [http] boot_listen (default: port %d)\n",
               conf, BH_BOOT_LISTEN_PORT);
    printf("pin: %s\n", info.pin);
    printf("the CLI pins it by itself with --data %s; elsewhere: bootherd --pin %s ...\n", dir,
           info.pin);
    return 0;
}
