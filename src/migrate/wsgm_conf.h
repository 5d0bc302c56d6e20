/*
 * ws-gateway-migrate: byte-preserving tokenizer for Apache configuration.
 *
 * A file is kept as its original bytes plus an index of physical lines.
 * Physical lines are grouped into logical items the way httpd reads them
 * (ap_cfg_getline): a backslash right before the end of line continues the
 * line, leading and trailing white space is dropped, a logical line whose
 * first character is '#' is a comment (continuations included), '<Name
 * args>' opens a section and '</Name>' closes it. Nothing is ever rewritten
 * here: callers replace whole physical lines (see wsgm_edit.h), so every
 * byte they do not touch comes out as it went in (CRLF, tabs, trailing
 * blanks, missing final newline).
 *
 * Memory: everything hangs off the pool given to wsgm_conf_parse(); the
 * file's data buffer must live at least as long as that pool.
 */
#ifndef WSGM_CONF_H
#define WSGM_CONF_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    WSGM_ITEM_BLANK = 0,
    WSGM_ITEM_COMMENT,
    WSGM_ITEM_RAW,          /* body of a <Perl> section: not configuration */
    WSGM_ITEM_DIRECTIVE,
    WSGM_ITEM_OPEN,         /* <Name args> */
    WSGM_ITEM_CLOSE         /* </Name> */
} wsgm_item_kind_e;

/* One physical line of the file. */
typedef struct wsgm_line_t {
    apr_size_t off;         /* offset of its first byte in wsgm_file_t.data */
    apr_size_t len;         /* bytes, end-of-line sequence included */
    apr_size_t eol;         /* bytes of that sequence: 0 (last line), 1 or 2 */
} wsgm_line_t;

/* One word of an argument list, as ap_getword_conf() reads it. */
typedef struct wsgm_word_t {
    const char *text;       /* value without quotes (pool string) */
    char        quote;      /* '"' or '\'' when it was quoted, else 0 */
} wsgm_word_t;

/* One logical line. */
typedef struct wsgm_item_t {
    wsgm_item_kind_e kind;
    int         first;      /* index of its first physical line */
    int         nlines;     /* physical lines it spans (>= 1) */
    int         line;       /* 1-based number of its first physical line */
    const char *text;       /* logical text: continuations joined, trimmed */
    const char *name;       /* directive or section name ("" for others) */
    const char *args;       /* everything after the name, trimmed; for a
                             * section without the closing '>' */
    const char *indent;     /* leading white space of the first line */
    int         parent;     /* index of the enclosing OPEN item, or -1 */
    int         close;      /* OPEN: index of its CLOSE item, else -1 */
} wsgm_item_t;

typedef struct wsgm_file_t {
    const char  *path;      /* path to open, or "-" for standard input */
    const char  *display;   /* name used in messages ("<stdin>" for "-") */
    const char  *data;      /* the bytes (not NUL-terminated on purpose) */
    apr_size_t   len;
    apr_array_header_t *lines;  /* wsgm_line_t */
    apr_array_header_t *items;  /* wsgm_item_t */
    const char  *eol;       /* "\r\n" if most lines end so, else "\n" */
} wsgm_file_t;

/**
 * Split @a f->data into lines and items and check the section structure.
 * @return 0 on success; -1 when the input is not an Apache configuration
 *         (binary data, a section that is never closed, a closing tag
 *         without its opening one, an impossible directive name). Then
 *         *@a err (pool string) says why and *@a errline where (1-based).
 */
int wsgm_conf_parse(apr_pool_t *p, wsgm_file_t *f, const char **err,
                    int *errline);

/**
 * Split an argument string into words like ap_getword_conf(): white space
 * separates words; a word starting with '"' or '\'' extends to the matching
 * quote, where a backslash before that quote character escapes it.
 * @return an array of wsgm_word_t allocated from @a p.
 */
apr_array_header_t *wsgm_conf_words(apr_pool_t *p, const char *args);

/**
 * Split RewriteRule/RewriteCond arguments like mod_rewrite's parseargline():
 * up to three words, each optionally quoted, a backslash before white space
 * keeps the word going (the backslash stays). Words after the third are
 * ignored, as mod_rewrite does.
 * @return the number of words found (0 to 3); @a out receives them.
 */
int wsgm_conf_rewrite_args(apr_pool_t *p, const char *args,
                           wsgm_word_t out[3]);

/**
 * Read @a path ("-": standard input, of any size) and parse it.
 * @return 0 and *@a out, or -1 with *@a err (and *@a errline, 0 when the
 *         file could not be read at all).
 */
int wsgm_conf_load(apr_pool_t *p, const char *path, wsgm_file_t **out,
                   const char **err, int *errline);

/** Bytes of physical line @a i, end of line excluded. */
const char *wsgm_conf_line_text(apr_pool_t *p, const wsgm_file_t *f, int i);

/** The item at index @a i (no bounds check beyond an assertion). */
wsgm_item_t *wsgm_conf_item(const wsgm_file_t *f, int i);

/**
 * End-of-line bytes of physical line @a i: "\r\n", "\n", or "" for a last
 * line without one; the file's usual ones when @a i is out of range.
 */
const char *wsgm_conf_line_eol(const wsgm_file_t *f, int i);

#endif /* WSGM_CONF_H */
