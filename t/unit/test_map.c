/* Unit tests: PATH normalisation, segment matching, longest match, join. */
#include <apr_general.h>
#include <apr_pools.h>

#include "wsgw_map.h"
#include "wsgw_test.h"

static void test_map_add(apr_array_header_t *a, apr_pool_t *p,
                         const char *path, int excluded, const char *tag)
{
    wsgw_map_entry_t *e = &APR_ARRAY_PUSH(a, wsgw_map_entry_t);

    e->path = wsgw_map_normalize(p, path);
    e->len = strcmp(e->path, "/") ? strlen(e->path) : 0;
    e->excluded = excluded;
    e->data = tag;
}

static const char *test_map_find(apr_array_header_t *a, const char *uri)
{
    const wsgw_map_entry_t *e = wsgw_map_lookup(a, uri);

    if (e == NULL) {
        return "none";
    }
    return e->excluded ? "excluded" : (const char *)e->data;
}

int main(void)
{
    apr_pool_t *p;
    apr_array_header_t *a;

    apr_initialize();
    apr_pool_create(&p, NULL);

    WSGW_CHECK_STR(wsgw_map_normalize(p, "/chat/"), "/chat", "trailing slash dropped");
    WSGW_CHECK_STR(wsgw_map_normalize(p, "/chat//"), "/chat", "trailing slashes dropped");
    WSGW_CHECK_STR(wsgw_map_normalize(p, "/"), "/", "root stays");
    WSGW_CHECK_STR(wsgw_map_normalize(p, "//"), "/", "double root is root");
    WSGW_CHECK(wsgw_map_normalize(p, "chat") == NULL, "relative path refused");
    WSGW_CHECK(wsgw_map_normalize(p, "") == NULL, "empty path refused");

    WSGW_CHECK(wsgw_map_covers("/chat", 5, "/chat"), "exact");
    WSGW_CHECK(wsgw_map_covers("/chat", 5, "/chat/"), "with slash");
    WSGW_CHECK(wsgw_map_covers("/chat", 5, "/chat/x/y"), "below");
    WSGW_CHECK(!wsgw_map_covers("/chat", 5, "/chatty"), "not /chatty");
    WSGW_CHECK(!wsgw_map_covers("/chat", 5, "/cha"), "not shorter");
    WSGW_CHECK(!wsgw_map_covers("/chat", 5, "/Chat"), "case-sensitive like httpd paths");
    WSGW_CHECK(wsgw_map_covers("/", 0, "/anything"), "root covers all");
    WSGW_CHECK(!wsgw_map_covers("/", 0, "*"), "root does not cover *");

    a = apr_array_make(p, 4, sizeof(wsgw_map_entry_t));
    test_map_add(a, p, "/", 0, "root");
    test_map_add(a, p, "/chat", 0, "chat");
    test_map_add(a, p, "/chat/admin", 0, "admin");
    test_map_add(a, p, "/chat/static", 1, NULL);
    WSGW_CHECK_STR(test_map_find(a, "/x"), "root", "root mapping");
    WSGW_CHECK_STR(test_map_find(a, "/chat"), "chat", "chat mapping");
    WSGW_CHECK_STR(test_map_find(a, "/chatty"), "root", "chatty falls to root");
    WSGW_CHECK_STR(test_map_find(a, "/chat/admin/x"), "admin", "longest wins");
    WSGW_CHECK_STR(test_map_find(a, "/chat/adminx"), "chat", "segment boundary on longer");
    WSGW_CHECK_STR(test_map_find(a, "/chat/static/app.js"), "excluded", "exclusion wins when longest");

    a = apr_array_make(p, 4, sizeof(wsgw_map_entry_t));
    test_map_add(a, p, "/ws", 0, "ws");
    WSGW_CHECK_STR(test_map_find(a, "/other"), "none", "no mapping");

    WSGW_CHECK_STR(wsgw_map_join(p, "/app/", "/x"), "/app/x", "no double slash");
    WSGW_CHECK_STR(wsgw_map_join(p, "/app", "/x"), "/app/x", "plain join");
    WSGW_CHECK_STR(wsgw_map_join(p, "/app/", ""), "/app/", "exact path keeps base");
    WSGW_CHECK_STR(wsgw_map_join(p, "/app", ""), "/app", "exact path, no slash");
    WSGW_CHECK_STR(wsgw_map_join(p, "", "/x"), "/x", "empty base");
    WSGW_CHECK_STR(wsgw_map_join(p, NULL, ""), "/", "nothing at all is /");
    WSGW_CHECK_STR(wsgw_map_join(p, "/", "/a/b/"), "/a/b/", "root base keeps trailing slash");

    apr_pool_destroy(p);
    apr_terminate();
    return WSGW_DONE();
}
