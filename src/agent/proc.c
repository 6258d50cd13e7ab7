/*
 * proc.c - fork, exec, collect the output's tail, wait.
 *
 * The environment is built before the fork: the agent has threads (the
 * uploader's), and between fork and exec only async-signal-safe calls are
 * made.
 */
#include "proc.h"

#include "core/str.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_MAX 4096
#define ENV_MAX    256

extern char **environ;

/* our environment with x->env added (a K=V of x->env wins) */
static char **make_env(const struct bh_exec *x, char **buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; x->env && x->env[i] && n + 1 < cap; i++)
        buf[n++] = (char *)x->env[i];
    for (char **e = environ; *e && n + 1 < cap; e++) {
        size_t klen = strcspn(*e, "=");
        bool shadowed = false;
        for (size_t i = 0; x->env && x->env[i]; i++)
            if (!strncmp(x->env[i], *e, klen + 1))
                shadowed = true;
        if (!shadowed)
            buf[n++] = *e;
    }
    buf[n] = NULL;
    return buf;
}

static void close_all(const int in[2], const int out[2], int nul)
{
    const int fds[] = {in[0], in[1], out[0], out[1], nul};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void feed(int fd, const char *text)
{
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
}

int bh_exec(const struct bh_exec *x, struct bh_err *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if ((x->input && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0) {
        int rc = bh_err_set(err, BH_ESYS, NULL, "pipe: %s", strerror(errno));
        close_all(in, out, -1);
        return rc;
    }
    char *envbuf[ENV_MAX];
    char **envp = make_env(x, envbuf, ENV_MAX);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        int rc = bh_err_set(err, BH_ESYS, NULL, "fork: %s", strerror(errno));
        close_all(in, out, nul);
        return rc;
    }
    if (pid == 0) {
        dup2(x->input ? in[0] : nul, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        if (x->cwd && chdir(x->cwd) < 0)
            _exit(126);
        execvpe(x->argv[0], x->argv, envp);
        static const char msg[] = ": cannot run it (not found, or not a program)\n";
        (void)!write(STDERR_FILENO, x->argv[0], strlen(x->argv[0]));
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(127);
    }
    if (nul >= 0)
        close(nul);
    close(out[1]);
    if (x->input) {
        close(in[0]);
        feed(in[1], x->input);
    }
    char buf[OUTPUT_MAX];
    size_t len = 0;
    ssize_t r;
    char tmp[1024];
    while ((r = read(out[0], tmp, sizeof(tmp))) > 0 || (r < 0 && errno == EINTR)) {
        if (r < 0)
            continue;
        /* keep the last bytes (tmp is smaller than buf): the error is at the end */
        if (len + (size_t)r >= sizeof(buf)) {
            size_t drop = len + (size_t)r - (sizeof(buf) - 1);
            memmove(buf, buf + drop, len - drop);
            len -= drop;
        }
        memcpy(buf + len, tmp, (size_t)r);
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(out[0]);
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (w < 0) {
        return bh_err_set(err, BH_ESYS, NULL, "%s: waitpid: %s", x->argv[0], strerror(errno));
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    bh_utf8_scrub(buf); /* the output goes into JSON, cut at any byte */
    if (x->out && x->out_cap) {
        snprintf(x->out, x->out_cap, "%s", len + 1 > x->out_cap ? buf + len + 1 - x->out_cap : buf);
        bh_utf8_scrub(x->out);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    const char *tail = len > 300 ? buf + len - 300 : buf;
    bh_err_set(err, BH_EIO, NULL, "%s failed (%s %d)%s%s", x->argv[0],
               WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
               len ? ": " : "", tail);
    if (err)
        bh_utf8_scrub(err->msg);
    return BH_EIO;
}
