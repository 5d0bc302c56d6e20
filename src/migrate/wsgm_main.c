/*
 * ws-gateway-migrate: command line.
 *
 *   ws-gateway-migrate [--diff | --in-place[=SUFFIX] | -o OUT] [--check]
 *                      [--follow-includes] [--server-root=DIR] [FILE...]
 *
 * Exit status: 0 done (or nothing to do), 1 warnings needing review (with
 * --check: something would change), 2 unusable input or bad options.
 * See docs/ws-gateway-migrate.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "wsgm_conf.h"
#include "wsgm_diff.h"
#include "wsgm_edit.h"
#include "wsgm_model.h"
#include "wsgm_msg.h"
#include "wsgm_recipe.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define WSGM_MAIN_NAME "ws-gateway-migrate"

typedef struct wsgm_main_opts_t {
    int         diff;
    int         in_place;
    const char *suffix;         /* backup suffix for --in-place */
    const char *output;         /* -o */
    int         check;
    int         follow;
    const char *server_root;
    apr_array_header_t *files;  /* const char * */
} wsgm_main_opts_t;

static void wsgm_main_usage(FILE *out)
{
    fprintf(out,
"Usage: " WSGM_MAIN_NAME " [--diff | --in-place[=SUFFIX] | -o OUT] [--check]\n"
"                          [--follow-includes] [--server-root=DIR] [FILE...]\n"
"\n"
"Rewrite Apache httpd WebSocket proxy recipes (RewriteCond/RewriteRule [P]\n"
"pairs, ProxyPass ws:// lines and their broken variants) into the equivalent\n"
"WSGatewayPass of mod_ws_gateway. Everything else is copied byte for byte.\n"
"Reads standard input when no FILE is given (or FILE is -); messages name it\n"
"<stdin>.\n"
"\n"
"  (default)            write the converted configuration to standard output\n"
"  --diff               write a unified diff instead (patch -p0 applies it)\n"
"  --in-place[=SUFFIX]  rewrite each FILE atomically, keeping the original\n"
"                       as FILE SUFFIX (default: .orig); unchanged files\n"
"                       are left alone\n"
"  -o OUT, --output=OUT write the result to OUT instead of standard output\n"
"  --check              write nothing; exit 1 when something would change or\n"
"                       needs review (a CI gate); with --diff, show the diff\n"
"  --follow-includes    convert files named by Include/IncludeOptional too\n"
"  --server-root=DIR    resolve relative Include paths against DIR (default:\n"
"                       the ServerRoot directive, else the including file's\n"
"                       directory)\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"\n"
"Messages on standard error: 'FILE:LINE: converted ...',\n"
"'FILE:LINE: warning: ...' (review needed), 'FILE:LINE: note: ...',\n"
"'FILE: error: ...'.\n"
"Exit status: 0 done or nothing to do, 1 warnings (with --check: changes\n"
"pending), 2 unusable input or bad options.\n");
}

static int wsgm_main_bad(const char *fmt, const char *arg)
{
    fprintf(stderr, WSGM_MAIN_NAME ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '" WSGM_MAIN_NAME " --help'.\n");
    return 2;
}

/* Returns -1 to go on, else the exit status. */
static int wsgm_main_parse(apr_pool_t *p, int argc, const char *const *argv,
                           wsgm_main_opts_t *o)
{
    int i, only_files = 0, modes;

    memset(o, 0, sizeof(*o));
    o->files = apr_array_make(p, 4, sizeof(const char *));
    for (i = 1; i < argc; ++i) {
        const char *a = argv[i];

        if (only_files || a[0] != '-' || !strcmp(a, "-")) {
            APR_ARRAY_PUSH(o->files, const char *) = a;
        }
        else if (!strcmp(a, "--")) {
            only_files = 1;
        }
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            wsgm_main_usage(stdout);
            return 0;
        }
        else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf(WSGM_MAIN_NAME " (mod_ws_gateway) %s\n", PACKAGE_VERSION);
            return 0;
        }
        else if (!strcmp(a, "--diff")) {
            o->diff = 1;
        }
        else if (!strcmp(a, "--check")) {
            o->check = 1;
        }
        else if (!strcmp(a, "--follow-includes")) {
            o->follow = 1;
        }
        else if (!strcmp(a, "--in-place")) {
            o->in_place = 1;
        }
        else if (!strncmp(a, "--in-place=", 11)) {
            o->in_place = 1;
            o->suffix = a + 11;
            if (*o->suffix == '\0' || strchr(o->suffix, '/')) {
                return wsgm_main_bad("--in-place=SUFFIX needs a suffix "
                                     "without '/' (got '%s')", o->suffix);
            }
        }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc) {
                return wsgm_main_bad("%s needs a file name", a);
            }
            o->output = argv[++i];
        }
        else if (!strncmp(a, "--output=", 9)) {
            o->output = a + 9;
        }
        else if (!strncmp(a, "--server-root=", 14)) {
            o->server_root = a + 14;
        }
        else if (!strcmp(a, "--server-root")) {
            if (i + 1 >= argc) {
                return wsgm_main_bad("%s needs a directory", a);
            }
            o->server_root = argv[++i];
        }
        else {
            return wsgm_main_bad("unknown option '%s'", a);
        }
    }
    if (o->files->nelts == 0) {
        APR_ARRAY_PUSH(o->files, const char *) = "-";
    }
    modes = (o->in_place != 0) + (o->output != NULL);
    if (modes > 1 || (o->in_place && o->diff)) {
        return wsgm_main_bad("%s", "choose one of --diff, --in-place and -o");
    }
    if (o->check && o->in_place) {
        return wsgm_main_bad("%s", "--check writes nothing: it does not go "
                             "with --in-place");
    }
    if (o->in_place) {
        for (i = 0; i < o->files->nelts; ++i) {
            if (!strcmp(APR_ARRAY_IDX(o->files, i, const char *), "-")) {
                return wsgm_main_bad("%s", "--in-place needs FILE names, not "
                                     "standard input");
            }
        }
        if (o->suffix == NULL) {
            o->suffix = ".orig";
        }
    }
    if (o->output && o->files->nelts > 1 && !o->diff) {
        return wsgm_main_bad("%s", "-o takes one input FILE (use --diff or "
                             "--in-place for several)");
    }
    return -1;
}

/* Write @a n bytes to @a path atomically, keeping a backup. */
static int wsgm_main_replace(apr_pool_t *p, wsgm_msgs_t *msgs,
                             const char *path, const char *data, apr_size_t n,
                             const char *suffix)
{
    /* through symbolic links (Debian's sites-enabled/ points into
     * sites-available/): the link stays, the file it names changes */
    char *real = realpath(path, NULL);
    const char *target = real ? apr_pstrdup(p, real) : path;
    char *tmpl = apr_pstrcat(p, target, ".wsgm-XXXXXX", NULL);
    const char *backup = apr_pstrcat(p, target, suffix, NULL);
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t written;
    char ebuf[256];

    free(real);
    rv = apr_stat(&fi, target, APR_FINFO_PROT | APR_FINFO_OWNER, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_mktemp(&fd, tmpl, APR_FOPEN_CREATE | APR_FOPEN_READ
                             | APR_FOPEN_WRITE | APR_FOPEN_EXCL
                             | APR_FOPEN_BINARY, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_write_full(fd, data, n, &written);
        if (rv == APR_SUCCESS) {
            rv = apr_file_sync(fd);
        }
        apr_file_close(fd);
        if (rv == APR_SUCCESS) {
            apr_file_perms_set(tmpl, fi.protection);
            /* The file keeps its owner (root rewriting a file of another
             * user); others cannot give files away: theirs stays theirs. */
            if (chown(tmpl, fi.user, fi.group) != 0) {
                (void)chown(tmpl, (uid_t)-1, fi.group);
            }
            apr_file_remove(backup, p);
            rv = apr_file_link(target, backup);
            if (rv != APR_SUCCESS) {
                rv = apr_file_copy(target, backup,
                                   APR_FPROT_FILE_SOURCE_PERMS, p);
            }
        }
        if (rv == APR_SUCCESS) {
            rv = apr_file_rename(tmpl, target, p);
        }
        if (rv != APR_SUCCESS) {
            apr_file_remove(tmpl, p);
        }
    }
    if (rv != APR_SUCCESS) {
        wsgm_msg_add(msgs, WSGM_MSG_ERROR, path, 0, "cannot rewrite it in "
                     "place: %s (nothing was changed)",
                     apr_strerror(rv, ebuf, sizeof(ebuf)));
        return -1;
    }
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    wsgm_main_opts_t o;
    wsgm_msgs_t *msgs;
    wsgm_recipe_out_t out;
    apr_array_header_t *seen, *outputs;
    FILE *dest = stdout;
    int i, rc, unusable = 0, changed = 0, fi;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, WSGM_MAIN_NAME ": cannot initialise APR\n");
        return 2;
    }
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    rc = wsgm_main_parse(p, argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    msgs = wsgm_msg_create(p);
    wsgm_recipe_init(p, &out);
    seen = apr_array_make(p, 4, sizeof(wsgm_file_t *));
    outputs = apr_array_make(p, 4, sizeof(wsgm_file_t *));

    for (i = 0; i < o.files->nelts; ++i) {
        const char *path = APR_ARRAY_IDX(o.files, i, const char *);
        wsgm_file_t *f;
        wsgm_model_t *m;
        const char *err;
        int errline, k, dup = 0;

        for (k = 0; k < seen->nelts; ++k) {
            if (!strcmp(APR_ARRAY_IDX(seen, k, wsgm_file_t *)->path, path)
                && strcmp(path, "-")) {
                dup = 1;
            }
        }
        if (dup) {
            continue;   /* already converted as an included file */
        }
        if (wsgm_conf_load(p, path, &f, &err, &errline) != 0) {
            wsgm_msg_add(msgs, WSGM_MSG_ERROR,
                         strcmp(path, "-") ? path : "<stdin>", errline,
                         "%s", err);
            unusable = 1;
            continue;
        }
        APR_ARRAY_PUSH(seen, wsgm_file_t *) = f;
        APR_ARRAY_PUSH(outputs, wsgm_file_t *) = f;
        m = wsgm_model_build(p, msgs, f, seen, o.follow, o.server_root);
        if (m->failed) {
            unusable = 1;
        }
        wsgm_recipe_run(p, m, &out);
    }
    wsgm_recipe_hints(msgs, &out);

    if (o.output && !o.check) {
        dest = fopen(o.output, "wb");
        if (dest == NULL) {
            wsgm_msg_add(msgs, WSGM_MSG_ERROR, o.output, 0,
                         "cannot write the output there");
            wsgm_msg_flush(msgs, stderr);
            return 2;
        }
    }
    for (fi = 0; fi < seen->nelts; ++fi) {
        wsgm_file_t *f = APR_ARRAY_IDX(seen, fi, wsgm_file_t *);
        apr_array_header_t *edits = apr_hash_get(out.edits, &f, sizeof(f));
        int named = 0;

        for (i = 0; i < outputs->nelts; ++i) {
            named |= APR_ARRAY_IDX(outputs, i, wsgm_file_t *) == f;
        }
        if (edits == NULL) {
            edits = wsgm_edit_list(p);
        }
        if (edits->nelts) {
            changed = 1;
        }
        if (o.diff) {
            if (wsgm_diff_write(p, dest, f, edits, f->display, f->display)
                != 0) {
                unusable = 1;
            }
        }
        else if (o.in_place) {
            if (edits->nelts) {
                apr_size_t n;
                const char *data = wsgm_edit_render(p, f, edits, &n);

                if (wsgm_main_replace(p, msgs, f->path, data, n, o.suffix)
                    != 0) {
                    unusable = 1;
                }
            }
        }
        else if (!o.check) {
            if (named) {
                apr_size_t n;
                const char *data = wsgm_edit_render(p, f, edits, &n);

                if (fwrite(data, 1, n, dest) != n) {
                    unusable = 1;
                }
            }
            else if (edits->nelts) {
                wsgm_msg_add(msgs, WSGM_MSG_NOTE, f->display, 0,
                             "included file changed too: its new text is not "
                             "written to the output (use --diff or "
                             "--in-place)");
            }
        }
    }
    if (dest != stdout) {
        if (fclose(dest) != 0) {
            unusable = 1;
        }
    }
    else if (fflush(stdout) != 0) {
        unusable = 1;
    }
    wsgm_msg_flush(msgs, stderr);
    if (unusable || wsgm_msg_count(msgs, WSGM_MSG_ERROR)) {
        return 2;
    }
    if (wsgm_msg_count(msgs, WSGM_MSG_WARNING) || (o.check && changed)) {
        return 1;
    }
    return 0;
}
