/*
 * libFuzzer target for ws-gateway-migrate: the tokenizer, and behind it
 * everything a file goes through (model, recipes, rendering, diff), since
 * garbage must never crash the tool, only make it exit 2.
 *
 * Build with clang -fsanitize=fuzzer (t/migrate/run-fuzz.sh), or link
 * t/migrate/fuzz_replay.c for a deterministic run under make check.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "wsgm_conf.h"
#include "wsgm_diff.h"
#include "wsgm_edit.h"
#include "wsgm_model.h"
#include "wsgm_msg.h"
#include "wsgm_recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *wsgm_fuzz_root;
static FILE *wsgm_fuzz_null;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    wsgm_file_t *f;
    const char *err;
    int errline;

    if (wsgm_fuzz_root == NULL) {
        apr_initialize();
        apr_pool_create(&wsgm_fuzz_root, NULL);
        wsgm_fuzz_null = fopen("/dev/null", "w");
    }
    apr_pool_create(&p, wsgm_fuzz_root);
    f = apr_pcalloc(p, sizeof(*f));
    f->path = "fuzz.conf";
    f->display = "fuzz.conf";
    /* a copy the exact size of the input, so ASan sees any overread */
    f->data = size ? apr_pmemdup(p, data, size) : "";
    f->len = size;
    if (wsgm_conf_parse(p, f, &err, &errline) == 0) {
        wsgm_msgs_t *msgs = wsgm_msg_create(p);
        apr_array_header_t *seen = apr_array_make(p, 1,
                                                  sizeof(wsgm_file_t *));
        wsgm_recipe_out_t out;
        wsgm_model_t *m;
        apr_array_header_t *edits;
        apr_size_t n;

        APR_ARRAY_PUSH(seen, wsgm_file_t *) = f;
        wsgm_recipe_init(p, &out);
        m = wsgm_model_build(p, msgs, f, seen, 0, NULL);
        wsgm_recipe_run(p, m, &out);
        wsgm_recipe_hints(msgs, &out);
        edits = apr_hash_get(out.edits, &f, sizeof(f));
        if (edits == NULL) {
            edits = wsgm_edit_list(p);
        }
        (void)wsgm_edit_render(p, f, edits, &n);
        if (wsgm_fuzz_null) {
            wsgm_diff_write(p, wsgm_fuzz_null, f, edits, "a", "b");
            wsgm_msg_flush(msgs, wsgm_fuzz_null);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
