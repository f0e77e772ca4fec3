/* A minimal JSON scanner over a mapped file, for the two huge values of a tokenizer.json
 * (model.vocab and model.merges): value spans, string decoding, skipping, object iteration. */
#include "formats/json_scan.h"

#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

ptune_status pt_js_err(const pt_js *j, const char *what)
{
    return pt_fail(PTUNE_E_FORMAT, "%s: %s at byte %zu", j->path, what, (size_t)(j->p - j->base));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(const char *p, const char *end, uint32_t *v)
{
    if (end - p < 4) return false;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return false;
        x = (x << 4) | (uint32_t)h;
    }
    *v = x;
    return true;
}

/* Decodes the string at j->p (a '"') into out (cleared first). */
ptune_status pt_js_string(pt_js *j, pt_buf *out)
{
    pt_buf_clear(out);
    if (j->p >= j->end || *j->p != '"') return pt_js_err(j, "expected a string");
    const char *p = j->p + 1;
    ptune_status st;
    for (;;) {
        const char *q = p;
        bool ascii = true;
        while (q < j->end) {
            unsigned char c = (unsigned char)*q;
            if (c == '"' || c == '\\' || c < 0x20) break;
            if (c >= 0x80) ascii = false;
            q++;
        }
        if (q > p) {
            size_t bad;
            if (!ascii && !pt_utf8_valid(p, (size_t)(q - p), &bad)) {
                j->p = p + bad;
                return pt_js_err(j, "invalid UTF-8 in string");
            }
            if ((st = pt_buf_append(out, p, (size_t)(q - p)))) return st;
        }
        if (q >= j->end) {
            j->p = q;
            return pt_js_err(j, "unterminated string");
        }
        if (*q == '"') {
            j->p = q + 1;
            return PTUNE_OK;
        }
        if ((unsigned char)*q < 0x20) {
            j->p = q;
            return pt_js_err(j, "control character in string");
        }
        /* escape */
        if (q + 1 >= j->end) {
            j->p = q;
            return pt_js_err(j, "unterminated string");
        }
        char e = q[1], c;
        p = q + 2;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (!read_hex4(p, j->end, &cp)) {
                j->p = q;
                return pt_js_err(j, "bad \\u escape");
            }
            p += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                j->p = q;
                return pt_js_err(j, "lone low surrogate escape");
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->end - p < 6 || p[0] != '\\' || p[1] != 'u' || !read_hex4(p + 2, j->end, &lo) || lo < 0xdc00 ||
                    lo > 0xdfff) {
                    j->p = q;
                    return pt_js_err(j, "lone high surrogate escape");
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            char u[4];
            size_t k = pt_utf8_encode(cp, u);
            if ((st = pt_buf_append(out, u, k))) return st;
            continue;
        }
        default: j->p = q; return pt_js_err(j, "bad escape in string");
        }
        if ((st = pt_buf_append_char(out, c))) return st;
    }
}

static ptune_status js_skip_string(pt_js *j)
{
    const char *p = j->p + 1;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(j->end - p));
        if (!q) return pt_js_err(j, "unterminated string");
        size_t bs = 0;
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\') bs++;
        if (bs % 2 == 0) {
            j->p = q + 1;
            return PTUNE_OK;
        }
        p = q + 1;
    }
}

/* Skips one value (structure is checked loosely; spans are validated when parsed). When
 * `count` is given, it receives the number of elements of an object or array (an estimate:
 * the commas at its top level, plus one). */
ptune_status pt_js_skip_count(pt_js *j, size_t *count)
{
    pt_js_ws(j);
    if (j->p >= j->end) return pt_js_err(j, "unexpected end of file");
    char c = *j->p;
    if (c == '"') return js_skip_string(j);
    if (c == '{' || c == '[') {
        size_t depth = 0, commas = 0;
        while (j->p < j->end) {
            char d = *j->p;
            if (d == '"') {
                ptune_status st = js_skip_string(j);
                if (st) return st;
                continue;
            }
            if (d == '{' || d == '[') depth++;
            else if (d == ',' && depth == 1) commas++;
            else if (d == '}' || d == ']') {
                if (--depth == 0) {
                    j->p++;
                    if (count) *count = commas + 1;
                    return PTUNE_OK;
                }
            }
            j->p++;
        }
        return pt_js_err(j, "unterminated object or array");
    }
    const char *s = j->p;
    while (j->p < j->end && !strchr(",}] \t\r\n", *j->p)) j->p++;
    if (j->p == s) return pt_js_err(j, "expected a value");
    return PTUNE_OK;
}

ptune_status pt_js_skip(pt_js *j) { return pt_js_skip_count(j, NULL); }

ptune_status pt_js_expect(pt_js *j, char c, const char *what)
{
    pt_js_ws(j);
    if (j->p >= j->end || *j->p != c) return pt_js_err(j, what);
    j->p++;
    return PTUNE_OK;
}

/* Iterates the members of the object at j->p: cb(key, value start) must consume the value. */
ptune_status pt_js_object(pt_js *j, pt_buf *key, pt_member_fn fn, void *ctx)
{
    ptune_status st = pt_js_expect(j, '{', "expected an object");
    if (st) return st;
    pt_js_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return PTUNE_OK;
    }
    for (;;) {
        pt_js_ws(j);
        if ((st = pt_js_string(j, key))) return st;
        if ((st = pt_js_expect(j, ':', "expected ':' after an object key"))) return st;
        pt_js_ws(j);
        if ((st = fn(j, key, ctx))) return st;
        pt_js_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        return pt_js_expect(j, '}', "expected ',' or '}' in an object");
    }
}

bool pt_js_key_is(const pt_buf *k, const char *s) { return k->len == strlen(s) && memcmp(k->data, s, k->len) == 0; }

ptune_status pt_js_record_span(pt_js *j, pt_js_span *sp)
{
    const char *s = j->p;
    ptune_status st = pt_js_skip(j);
    if (st) return st;
    *sp = (pt_js_span){s, (size_t)(j->p - s), true};
    return PTUNE_OK;
}

