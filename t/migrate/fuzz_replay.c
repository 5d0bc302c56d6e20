/*
 * Deterministic driver for the fuzz target, run by make check: every golden
 * case input, every prefix of it (cut lines, half-open sections, dangling
 * continuations and quotes), and copies with bytes flipped or replaced by
 * the characters the tokenizer cares about. Prints TAP; a crash fails the
 * test, as it would under libFuzzer.
 *
 * The cases directory is WSGM_CASES_DIR (compiled in) or $WSGM_CASES;
 * extra files given as arguments are replayed too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#ifndef WSGM_CASES_DIR
#define WSGM_CASES_DIR "t/migrate/cases"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long wsgm_replay_runs;

static void wsgm_replay_run(const char *d, apr_size_t n)
{
    LLVMFuzzerTestOneInput((const uint8_t *)d, n);
    ++wsgm_replay_runs;
}

/* One input and its variations. */
static void wsgm_replay_one(apr_pool_t *p, const char *data, apr_size_t len)
{
    static const char specials[] = "\\\"'<>\n\r\t {}$%#!=[]()*.?^/";
    char *copy = apr_palloc(p, len + 1);
    apr_size_t i, step;

    wsgm_replay_run(data, len);
    step = len > 2048 ? len / 1024 : 1;
    for (i = 0; i < len; i += step) {
        wsgm_replay_run(data, i);                       /* prefixes */
    }
    for (i = 0; i < len; i += step) {
        memcpy(copy, data, len);
        copy[i] = (char)(copy[i] ^ (1 << (i % 7)));     /* bit flips */
        wsgm_replay_run(copy, len);
        memcpy(copy, data, len);
        copy[i] = specials[i % (sizeof(specials) - 1)]; /* special bytes */
        wsgm_replay_run(copy, len);
    }
}

static int wsgm_replay_file(apr_pool_t *p, const char *path)
{
    apr_file_t *fd;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;

    if (apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)
        != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, fd) != APR_SUCCESS) {
        return -1;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    if (n && apr_file_read_full(fd, buf, n, &n) != APR_SUCCESS) {
        apr_file_close(fd);
        return -1;
    }
    apr_file_close(fd);
    wsgm_replay_one(p, buf, n);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    apr_dir_t *dir;
    apr_finfo_t fi;
    const char *cases = getenv("WSGM_CASES") ? getenv("WSGM_CASES")
                                             : WSGM_CASES_DIR;
    int files = 0, i, failed = 0;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);

    if (apr_dir_open(&dir, cases, p) != APR_SUCCESS) {
        printf("1..0 # SKIP no cases directory %s\n", cases);
        return 77;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
           == APR_SUCCESS) {
        const char *path;

        if (fi.name[0] == '.' || fi.filetype != APR_DIR) {
            continue;
        }
        path = apr_pstrcat(p, cases, "/", fi.name, "/in.conf", NULL);
        if (wsgm_replay_file(p, path) == 0) {
            ++files;
        }
    }
    apr_dir_close(dir);
    for (i = 1; i < argc; ++i) {
        if (wsgm_replay_file(p, argv[i]) == 0) {
            ++files;
        }
        else {
            printf("# cannot read %s\n", argv[i]);
            failed = 1;
        }
    }
    /* a few inputs no case has */
    wsgm_replay_run("", 0);
    wsgm_replay_run("\\", 1);
    wsgm_replay_run("<", 1);
    wsgm_replay_run("</>", 3);
    wsgm_replay_run("<A>\n</a>\n", 9);
    wsgm_replay_run("RewriteRule", 11);
    wsgm_replay_run("RewriteCond \"", 13);
    wsgm_replay_run("ProxyPass / ws://", 17);
    wsgm_replay_run("\xef\xbb\xbfProxyPass /w ws://h/w", 23);

    printf("%s 1 - fuzz target replayed %lu inputs from %d files without a "
           "crash\n1..1\n", failed ? "not ok" : "ok", wsgm_replay_runs, files);
    return failed;
}
