/*
 * ws-gateway-migrate: the part of PCRE that RewriteRule / RewriteCond
 * patterns commonly use, evaluated with the C library's POSIX regex.
 *
 * Patterns outside that subset (look-around, lazy quantifiers, back
 * references, inline options, ...) are reported as unsupported; callers
 * then treat the rule as opaque instead of guessing what it matches.
 */
#ifndef WSGM_REGEX_H
#define WSGM_REGEX_H

#include <regex.h>

#include <apr_pools.h>

#define WSGM_REGEX_MAX_GROUPS 10

typedef struct wsgm_regex_t {
    regex_t     re;
    int         ok;         /* compiled: the pattern is in the subset */
    int         ngroups;    /* capturing groups */
    int         anchored;   /* starts with '^' */
    const char *literal;    /* literal text every match starts with (after
                             * '^' if anchored), "" when none; an unescaped
                             * dot between letters counts as a dot here */
    const char *prefix;     /* the same, strictly (stops at any wildcard):
                             * an anchored pattern only matches strings that
                             * start with it */
} wsgm_regex_t;

/**
 * Compile @a pat (PCRE syntax) case-insensitively when @a icase.
 * The compiled form is freed when @a p is cleared.
 * @return 1 when compiled, 0 when the pattern is outside the subset (then
 *         only ->anchored and ->literal are meaningful).
 */
int wsgm_regex_compile(apr_pool_t *p, wsgm_regex_t *r, const char *pat,
                       int icase);

/**
 * Match @a s against @a r. @a m (WSGM_REGEX_MAX_GROUPS entries) receives
 * the captures, unset groups with rm_so == -1.
 * @return 1 on a match, 0 otherwise (also when @a r is not compiled).
 */
int wsgm_regex_match(const wsgm_regex_t *r, const char *s, regmatch_t *m);

/**
 * Does @a r match every string we can think of a request being matched
 * against (URL paths, file system paths, "proxy:" URLs, the empty string)?
 */
int wsgm_regex_matches_all(const wsgm_regex_t *r);

#endif /* WSGM_REGEX_H */
