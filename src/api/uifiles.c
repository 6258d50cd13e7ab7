/*
 * uifiles.c - the web console's files: GET / (index.html) and GET
 * /ui/{path*} from the directory [http] ui_dir, which `make` fills (web/).
 *
 * Files go out with sendfile (files.c), below a directory opened before
 * privileges drop, through openat2(RESOLVE_BENEATH): no "..", no absolute
 * path, no symlink leads out of it.  A name with the build's content hash
 * in it (app.3f9a1c2b.js: NAME.HEX.EXT, HEX 8 to 64 lower-case digits)
 * never changes, so browsers may keep it a year; everything else is
 * revalidated with its ETag.  A text file with a .gz sibling at least as
 * new goes out compressed to a client that accepts gzip (the build
 * compresses once; no CPU per request; a .gz older than its file is
 * ignored, so a hand-edited file is never shadowed by its old copy).
 *
 * Every answer carries a strict Content-Security-Policy (no inline script
 * or style: the console has none), and the console may not be framed;
 * the server adds HSTS to every answer over TLS.
 * These routes need no token: the login page must load without one.
 */
#include "api.h"

#include "http/browser.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define UI_INDEX     "index.html"
#define UI_PATH_MAX  1024
#define HASH_MIN     8
#define HASH_MAX     64
#define NOT_BUILT    "console not built: run make\n"
#define CACHE_HASHED "public, max-age=31536000, immutable"
#define CACHE_OTHER  "no-cache"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                          "data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static const struct {
    const char *ext, *ctype;
    bool text; /* worth a .gz sibling */
} types[] = {
    {"html", "text/html; charset=utf-8", true},
    {"js", "text/javascript; charset=utf-8", true},
    {"css", "text/css; charset=utf-8", true},
    {"svg", "image/svg+xml", true},
    {"json", "application/json", true},
    {"map", "application/json", true},
    {"txt", "text/plain; charset=utf-8", true},
    {"png", "image/png", false},
    {"ico", "image/x-icon", false},
    {"woff2", "font/woff2", false},
};

static void security_headers(struct bh_req *r)
{
    bh_reply_header(r, "Content-Security-Policy", csp);
    bh_reply_header(r, "X-Frame-Options", "DENY");
    bh_reply_header(r, "Referrer-Policy", "no-referrer");
}

static void not_built(struct bh_req *r)
{
    bh_reply(r, 503, "text/plain; charset=utf-8", NOT_BUILT, strlen(NOT_BUILT));
}

/* the type by extension; *text if a .gz sibling may exist */
static const char *type_of(const char *path, bool *text)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    *text = false;
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot + 1, types[i].ext)) {
            *text = types[i].text;
            return types[i].ctype;
        }
    return "application/octet-stream";
}

/* Is the file name NAME.HEX.EXT (app.3f9a1c2b.js, or app.3f9a1c2b.js.map),
 * HEX 8..64 lower-case hex digits, as build.mjs names what it hashes? */
static bool hashed_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *h = strchr(name, '.');
    if (!h || h == name)
        return false;
    h++;
    size_t n = strspn(h, "0123456789abcdef");
    if (n < HASH_MIN || n > HASH_MAX || h[n] != '.')
        return false;
    const char *ext = h + n + 1;
    size_t e = strcspn(ext, ".");
    return e > 0 && (ext[e] == '\0' || !strcmp(ext + e, ".map"));
}

/* The file at path (below the console's directory), compressed if the
 * client takes it.  BH_ENOTFOUND: nothing answered. */
static int serve(struct bh_req *r, const char *path, const char *cache)
{
    struct bh_api *api = bh_api_ctx(r);
    bool text;
    struct bh_file_opts o = {
        .ctype = type_of(path, &text), .cache_control = cache, .what = "console file"};
    if (text) {
        /* RFC 9110 12.5.5: the answer depends on Accept-Encoding */
        bh_reply_header(r, "Vary", "Accept-Encoding");
        char gz[UI_PATH_MAX + 8];
        int n = snprintf(gz, sizeof(gz), "%s.gz", path);
        struct stat st;
        if (n > 0 && (size_t)n < sizeof(gz) &&
            bh_accepts_gzip(bh_req_header(r, "Accept-Encoding")) &&
            fstatat(api->ui_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            /* the plain file's mtime only; the .gz itself is still
             * opened beneath the directory */
            struct bh_file_opts g = o;
            g.encoding = "gzip";
            g.not_older = &st.st_mtim;
            if (bh_reply_file_ex(r, api->ui_fd, gz, &g) == 0)
                return 0;
        }
    }
    return bh_reply_file_ex(r, api->ui_fd, path, &o);
}

void bh_h_console_index(struct bh_req *r)
{
    security_headers(r);
    if (!bh_api_ctx(r)->ui_ok || serve(r, UI_INDEX, CACHE_OTHER))
        not_built(r);
}

void bh_h_console_file(struct bh_req *r)
{
    security_headers(r);
    if (!bh_api_ctx(r)->ui_ok) {
        not_built(r);
        return;
    }
    const char *p = bh_req_param(r, "path");
    char path[UI_PATH_MAX];
    int n = p ? snprintf(path, sizeof(path), "ui/%s", p) : -1;
    if (n <= 0 || (size_t)n >= sizeof(path) ||
        serve(r, path, hashed_name(path) ? CACHE_HASHED : CACHE_OTHER))
        bh_reply_problem(r, 404, "not-found", "Not found", "no such console file", NULL);
}
