/*
 * client_build.c - `bootherd client build`: make the client OS that machines
 * network-boot into (a Debian kernel and a busybox initramfs with the agent,
 * the disk tools and the common drivers), install it into the boot root as
 * client/vmlinuz and client/initrd.img, and point the `bootherd-client`
 * boot profile at it.
 *
 * The heavy lifting (download, dpkg -x, modules.dep, libraries, cpio) is a
 * shell script, scripts/client-build.sh; this file parses the arguments,
 * finds the script, runs it in a work directory under the cache, installs
 * what it made atomically and talks to the API.
 */
#include "daemon.h"

#include "client/client.h"
#include "config.h"
#include "core/fsutil.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENT_DIR     "client" /* in the boot root */
#define CLIENT_KERNEL  "vmlinuz"
#define CLIENT_INITRD  "initrd.img"
#define CLIENT_PROFILE "bootherd-client"
#define CLIENT_CMDLINE                                                                             \
    "console=ttyS0 console=tty0 bootherd.server={{http_base}} bootherd.ticket={{ticket}}"
#define SCRIPT_NAME     "client-build.sh"
#define SCRIPT_ENV      "BOOTHERD_CLIENT_BUILD_SCRIPT"
#define AGENT_NAME      "bootherd-agent"
#define MAX_SCRIPT_ARGS 24

struct opts {
    const char *data;
    const char *root;
    const char *cache;
    const char *kernel_deb;
    const char *agent;
    bool no_agent;
    const char *modules;
    const char *compress;
    const char *script;
    const char *url;
    const char *token;
    const char *profile;
    const char *cmdline;
    bool no_profile;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bootherd client build [--data DIR] [--root DIR] [--cache DIR]\n"
               "         [--kernel-deb PATH] [--agent PATH | --no-agent] [--modules \"NAME ...\"]\n"
               "         [--compress zstd|gzip] [--profile NAME] [--cmdline TEMPLATE]\n"
               "         [--no-profile] [--url URL] [--token TOKEN] [--script PATH]\n");
}

/* snprintf for paths: -1 (ENAMETOOLONG) instead of a truncated path */
__attribute__((format(printf, 3, 4))) static int pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* the directory of the running binary, e.g. /usr/bin or .../build */
static int exe_dir(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

static bool is_file(const char *path, int mode)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, mode) == 0;
}

/*
 * The script: --script, $BOOTHERD_CLIENT_BUILD_SCRIPT, the source tree of
 * a binary run from its build directory (build/../scripts), an install
 * beside the binary (bin/../lib/bootherd), then the usual system paths.
 */
static int find_script(const char *given, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *env = getenv(SCRIPT_ENV);
    if (given || (env && env[0])) {
        bh_strlcpy(out, given ? given : env, cap);
        return is_file(out, R_OK) ? 0 : -1;
    }
    if (exe_dir(dir, sizeof(dir)) == 0) {
        static const char *const rel[] = {"../scripts", "../lib/bootherd", "../libexec/bootherd"};
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            if (pathf(out, cap, "%s/%s/%s", dir, rel[i], SCRIPT_NAME) == 0 && is_file(out, R_OK))
                return 0;
        }
    }
    static const char *const sys[] = {"/usr/lib/bootherd", "/usr/local/lib/bootherd",
                                      "/usr/libexec/bootherd"};
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
        if (pathf(out, cap, "%s/%s", sys[i], SCRIPT_NAME) == 0 && is_file(out, R_OK))
            return 0;
    }
    return -1;
}

/* The agent: --agent, else the bootherd-agent next to this binary. */
static const char *find_agent(const struct opts *o, char *buf, size_t cap)
{
    char dir[PATH_MAX];
    if (o->no_agent)
        return NULL;
    if (o->agent)
        return o->agent;
    if (exe_dir(dir, sizeof(dir)) == 0) {
        if (pathf(buf, cap, "%s/%s", dir, AGENT_NAME) == 0 && is_file(buf, X_OK))
            return buf;
    }
    return NULL;
}

/* the boot root of the data directory, as `serve` and `assets` see it */
static int boot_root(const struct opts *o, char *out, size_t cap)
{
    struct bh_config cfg;
    struct bh_err e;
    char conf[PATH_MAX];
    bh_config_defaults(&cfg);
    if (pathf(conf, sizeof(conf), "%s/bootherd.conf", o->data) < 0) {
        fprintf(stderr, "bootherd client: --data %s: path too long\n", o->data);
        return -1;
    }
    if (access(conf, F_OK) == 0 && bh_config_load(&cfg, conf, &e)) {
        fprintf(stderr, "bootherd client: %s\n", e.msg);
        return -1;
    }
    int rc;
    if (o->root)
        rc = pathf(out, cap, "%s", o->root);
    else if (cfg.boot.root[0] == '/')
        rc = pathf(out, cap, "%s", cfg.boot.root);
    else
        rc = pathf(out, cap, "%s/%s", o->data, cfg.boot.root);
    if (rc < 0)
        fprintf(stderr, "bootherd client: the boot root's path is too long\n");
    return rc;
}

static int run_script(const char *script, const char *out, const char *cache, const char *work,
                      const struct opts *o, const char *agent)
{
    const char *argv[MAX_SCRIPT_ARGS];
    int n = 0;
    argv[n++] = "bash";
    argv[n++] = script;
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n++] = "--cache";
    argv[n++] = cache;
    argv[n++] = "--work";
    argv[n++] = work;
    if (o->kernel_deb) {
        argv[n++] = "--kernel-deb";
        argv[n++] = o->kernel_deb;
    }
    if (agent) {
        argv[n++] = "--agent";
        argv[n++] = agent;
    }
    if (o->modules) {
        argv[n++] = "--modules";
        argv[n++] = o->modules;
    }
    if (o->compress) {
        argv[n++] = "--compress";
        argv[n++] = o->compress;
    }
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp("bash", (char *const *)argv);
        fprintf(stderr, "bootherd client: cannot run bash: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* copy src to dirfd/tmp, fsynced, mode 0644; -1 with errno on failure */
static int copy_to_temp(const char *src, int dirfd, const char *tmp)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0) {
        int saved = errno;
        close(in);
        errno = saved;
        return -1;
    }
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while (!rc && (n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
    }
    if (!rc && (fchmod(out, 0644) < 0 || fsync(out) < 0))
        rc = -1;
    int saved = errno;
    close(in);
    if (close(out) < 0 && !rc) {
        saved = errno;
        rc = -1;
    }
    if (rc) {
        unlinkat(dirfd, tmp, 0);
        errno = saved;
    }
    return rc;
}

/*
 * Both files go to temporary names first, then are renamed one right after
 * the other, so a machine booting meanwhile sees whole files, and the pair
 * is mixed (new kernel, old initrd) only for the instant between renames.
 */
static int install_outputs(const char *outdir, const char *root)
{
    static const char *const names[] = {CLIENT_KERNEL, CLIENT_INITRD};
    char dir[PATH_MAX], src[PATH_MAX], tmp[2][64];
    if (pathf(dir, sizeof(dir), "%s/%s", root, CLIENT_DIR) < 0 || bh_mkdir_p(dir, 0755) < 0) {
        fprintf(stderr, "bootherd client: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        fprintf(stderr, "bootherd client: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    size_t done = 0;
    for (; done < 2; done++) {
        snprintf(tmp[done], sizeof(tmp[done]), ".%s.tmp.%d", names[done], (int)getpid());
        if (pathf(src, sizeof(src), "%s/%s", outdir, names[done]) < 0 ||
            copy_to_temp(src, dfd, tmp[done]) < 0) {
            fprintf(stderr, "bootherd client: cannot write %s/%s: %s\n", dir, tmp[done],
                    strerror(errno));
            rc = -1;
            break;
        }
    }
    for (size_t i = 0; !rc && i < 2; i++) {
        if (renameat(dfd, tmp[i], dfd, names[i]) < 0) {
            fprintf(stderr, "bootherd client: cannot rename %s/%s: %s\n", dir, names[i],
                    strerror(errno));
            rc = -1;
        }
    }
    if (rc) {
        for (size_t i = 0; i < done; i++)
            unlinkat(dfd, tmp[i], 0);
    } else if (fsync(dfd) < 0) {
        rc = -1;
    }
    close(dfd);
    if (!rc)
        printf("installed %s/%s and %s/%s\n", dir, CLIENT_KERNEL, dir, CLIENT_INITRD);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void print_profile_command(const struct opts *o, const char *verb)
{
    printf("  bootherd%s%s %s %s %s kernel=%s/%s initrds=%s/%s 'cmdline=%s'\n",
           strcmp(o->data, "./var") ? " --data " : "", strcmp(o->data, "./var") ? o->data : "",
           "profile", verb, o->profile, CLIENT_DIR, CLIENT_KERNEL, CLIENT_DIR, CLIENT_INITRD,
           o->cmdline);
}

static void tell_profile_later(const struct opts *o, const char *why)
{
    printf("the boot profile was not updated (%s); once bootherd serve runs:\n", why);
    print_profile_command(o, "add");
    printf("or, if the profile exists already:\n");
    print_profile_command(o, "set");
}

/*
 * Create or update the profile: PATCH it (kernel, initrds, cmdline only,
 * so its description and labels stay), POST it when it does not exist.
 * 0 done or the server is not there (the command is printed), 1 refused.
 */
static int update_profile(const struct opts *o)
{
    struct bh_cli c;
    struct bh_err e;
    memset(&c, 0, sizeof(c));
    if (bh_cli_setup(&c, o->url, o->token, o->data, &e)) {
        bh_cli_cleanup(&c);
        tell_profile_later(o, "no running server found");
        return 0;
    }
    char path[512], esc[256];
    bh_cli_escape(o->profile, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/profiles/%s", esc);
    json_t *doc = json_pack("{s:s, s:[s], s:s}", "kernel", CLIENT_DIR "/" CLIENT_KERNEL, "initrds",
                            CLIENT_DIR "/" CLIENT_INITRD, "cmdline", o->cmdline);
    long status = 0;
    json_t *reply = NULL;
    int rc = bh_cli_json(&c, "PATCH", path, doc, &status, &reply, &e);
    const char *verb = "updated";
    if (!rc && status == 404) {
        json_decref(reply);
        reply = NULL;
        json_object_set_new(doc, "name", json_string(o->profile));
        json_object_set_new(doc, "description",
                            json_string("the bootherd client OS (bootherd client build)"));
        rc = bh_cli_json(&c, "POST", "/api/v1/profiles", doc, &status, &reply, &e);
        verb = "created";
    }
    int out = 0;
    if (rc) {
        tell_profile_later(o, e.msg);
    } else if (status == 200 || status == 201) {
        printf("boot profile %s %s at %s: kernel=%s/%s initrds=%s/%s cmdline='%s'\n", o->profile,
               verb, c.url, CLIENT_DIR, CLIENT_KERNEL, CLIENT_DIR, CLIENT_INITRD, o->cmdline);
    } else {
        out = bh_cli_fail_json("profile", status, reply);
        printf("the files are installed; set the profile with:\n");
        print_profile_command(o, !strcmp(verb, "created") ? "add" : "set");
    }
    json_decref(reply);
    json_decref(doc);
    bh_cli_cleanup(&c);
    return out;
}

static int parse(int argc, char **argv, struct opts *o)
{
    enum {
        O_KDEB = 256,
        O_AGENT,
        O_NOAGENT,
        O_MODULES,
        O_COMPRESS,
        O_SCRIPT,
        O_URL,
        O_TOKEN,
        O_PROFILE,
        O_CMDLINE,
        O_NOPROFILE
    };
    static const struct option lo[] = {{"data", required_argument, NULL, 'd'},
                                       {"root", required_argument, NULL, 'r'},
                                       {"cache", required_argument, NULL, 'c'},
                                       {"kernel-deb", required_argument, NULL, O_KDEB},
                                       {"agent", required_argument, NULL, O_AGENT},
                                       {"no-agent", no_argument, NULL, O_NOAGENT},
                                       {"modules", required_argument, NULL, O_MODULES},
                                       {"compress", required_argument, NULL, O_COMPRESS},
                                       {"script", required_argument, NULL, O_SCRIPT},
                                       {"url", required_argument, NULL, O_URL},
                                       {"token", required_argument, NULL, O_TOKEN},
                                       {"profile", required_argument, NULL, O_PROFILE},
                                       {"cmdline", required_argument, NULL, O_CMDLINE},
                                       {"no-profile", no_argument, NULL, O_NOPROFILE},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:r:c:h", lo, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'r': o->root = optarg; break;
        case 'c': o->cache = optarg; break;
        case O_KDEB: o->kernel_deb = optarg; break;
        case O_AGENT: o->agent = optarg; break;
        case O_NOAGENT: o->no_agent = true; break;
        case O_MODULES: o->modules = optarg; break;
        case O_COMPRESS: o->compress = optarg; break;
        case O_SCRIPT: o->script = optarg; break;
        case O_URL: o->url = optarg; break;
        case O_TOKEN: o->token = optarg; break;
        case O_PROFILE: o->profile = optarg; break;
        case O_CMDLINE: o->cmdline = optarg; break;
        case O_NOPROFILE: o->no_profile = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o->compress && strcmp(o->compress, "zstd") && strcmp(o->compress, "gzip")) {
        fprintf(stderr, "bootherd client: --compress must be zstd or gzip\n");
        return 2;
    }
    return -1;
}

/* The path p as seen from here, absolute (the build script changes its
 * directory); NULL stays NULL.  Points into buf, or at p itself. */
static const char *absolute(const char *p, char *buf, size_t cap)
{
    char cwd[PATH_MAX];
    if (!p || p[0] == '/')
        return p;
    while (p[0] == '.' && p[1] == '/')
        for (p += 2; *p == '/'; p++)
            ;
    if (!getcwd(cwd, sizeof(cwd)) || pathf(buf, cap, "%s/%s", cwd, p) < 0)
        return NULL;
    return buf;
}

static int client_build(int argc, char **argv)
{
    struct opts o = {.data = "./var", .profile = CLIENT_PROFILE, .cmdline = CLIENT_CMDLINE};
    int prc = parse(argc, argv, &o);
    if (prc >= 0)
        return prc;
    /* `--data ./var` (the README's) works as well as an absolute one */
    static char abs_buf[6][PATH_MAX];
    const char **paths[] = {&o.data, &o.root, &o.cache, &o.kernel_deb, &o.agent, &o.script};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *was = *paths[i];
        *paths[i] = absolute(was, abs_buf[i], sizeof(abs_buf[i]));
        if (was && !*paths[i]) {
            fprintf(stderr, "bootherd client: %s: cannot make the path absolute\n", was);
            return 2;
        }
    }

    char script[PATH_MAX], root[PATH_MAX], cache[PATH_MAX], agent_buf[PATH_MAX];
    char work[PATH_MAX], outdir[PATH_MAX];
    if (find_script(o.script, script, sizeof(script))) {
        fprintf(stderr,
                "bootherd client: cannot find %s (looked beside the binary, in "
                "/usr/lib/bootherd and /usr/local/lib/bootherd); give --script PATH or $%s\n",
                SCRIPT_NAME, SCRIPT_ENV);
        return 1;
    }
    if (boot_root(&o, root, sizeof(root)))
        return 2;
    if ((o.cache ? pathf(cache, sizeof(cache), "%s", o.cache)
                 : pathf(cache, sizeof(cache), "%s/cache/client", o.data)) < 0 ||
        pathf(work, sizeof(work), "%s/build.XXXXXX", cache) < 0 ||
        pathf(outdir, sizeof(outdir), "%s/out", work) < 0) {
        fprintf(stderr, "bootherd client: the cache directory's path is too long\n");
        return 2;
    }
    if (bh_mkdir_p(cache, 0755) < 0) {
        fprintf(stderr, "bootherd client: cannot create %s: %s\n", cache, strerror(errno));
        return 1;
    }
    const char *agent = find_agent(&o, agent_buf, sizeof(agent_buf));
    if (o.agent && !is_file(o.agent, X_OK)) {
        fprintf(stderr, "bootherd client: --agent %s is not an executable file\n", o.agent);
        return 2;
    }
    if (!agent)
        fprintf(stderr,
                "bootherd client: warning: no %s (%s); the client OS will boot to a "
                "shell\n",
                AGENT_NAME,
                o.no_agent ? "--no-agent" : "none beside this binary; give --agent PATH");
    if (!mkdtemp(work)) {
        fprintf(stderr, "bootherd client: cannot make a work directory in %s: %s\n", cache,
                strerror(errno));
        return 1;
    }
    pathf(outdir, sizeof(outdir), "%s/out", work); /* fits: checked above with the X's */
    printf("building the client OS with %s\n", script);
    int rc = run_script(script, outdir, cache, work, &o, agent);
    if (rc != 0) {
        fprintf(stderr, "bootherd client: %s failed (status %d); nothing was installed\n", script,
                rc);
        rm_tree(work);
        return 1;
    }
    rc = install_outputs(outdir, root);
    rm_tree(work);
    if (rc)
        return 1;
    if (o.no_profile)
        return 0;
    return update_profile(&o);
}

int bh_cmd_client(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "build") && strcmp(argv[1], "help") &&
                     strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "build")) {
        usage(stdout);
        return 0;
    }
    return client_build(argc - 1, argv + 1);
}
