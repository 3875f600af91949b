/*
 * mastra_json.h: a small JSON reader for mastra-server C plugins (single header, optional).
 *
 * Enough to read a plugin's config (mastra_config() in mastra.h): walk an object by hand, read
 * strings, skip values you do not care about. It is a cursor over a (pointer, length) buffer, not
 * a DOM: nothing is allocated except the strings you read. It needs only libc (malloc, memcpy),
 * so it adds no imports to a module.
 *
 *   #include "mastra.h"
 *   #include "mastra_json.h"
 *
 *   struct mastra_json_cursor c;
 *   mastra_json_init(&c, json, len);
 *   if (!mastra_json_expect(&c, '{')) ...;           // skips white space first
 *   size_t n;
 *   char *key = mastra_json_read_string(&c, &n);    // malloc'ed, NUL-terminated: free it
 *   if (!key || !mastra_json_expect(&c, ':')) ...;  // c.err says why (NULL return)
 *   if (!mastra_json_skip_value(&c)) ...;
 *
 * What it parses (RFC 8259, with Go encoding/json's semantics, so that a C plugin decodes its
 * config as the Go SDK would):
 *   - strings: escapes \" \\ \/ \b \f \n \r \t \uXXXX; a \uD8xx\uDCxx pair becomes one code point;
 *     a lone surrogate and invalid UTF-8 become U+FFFD; raw control characters (< 0x20) are an
 *     error. Output is UTF-8.
 *   - numbers (the JSON grammar, validated, not converted), true, false, null, objects and arrays
 *     (validated and skipped by mastra_json_skip_value).
 *   - white space: space, tab, LF, CR.
 * mastra_json_read_string_lax reads strings more leniently, for readers that predate this
 * header: bytes are copied as they are (no UTF-8 check, control characters allowed) and a lone
 * surrogate escape is encoded as it is; a high surrogate followed by \u must still be followed by
 * its low half. (Call one or the other; the mode is a constant, so the other path is dropped.)
 *
 * Limits: nesting up to MASTRA_JSON_MAX_DEPTH (10000, encoding/json's limit) in
 * mastra_json_skip_value, which keeps its stack in a static array (one per including file, so
 * not reentrant; plugins are single-threaded).
 *
 * Errors: a function that fails returns 0 / NULL and records the first error in c->err (a static
 * message in encoding/json's words, e.g. "unexpected end of JSON input"). c->p is left near the
 * failure (at the opening quote of a bad string), so c->p - c->start serves as an offset in
 * messages; do not read on after an error.
 *
 * Ownership: mastra_json_read_string(_lax) returns a malloc'ed buffer that the caller frees;
 * nothing else allocates. The cursor never owns or modifies the input, which must outlive it.
 */
#ifndef MASTRA_JSON_H
#define MASTRA_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MASTRA_JSON_MAX_DEPTH 10000 /* encoding/json's nesting limit */

struct mastra_json_cursor {
  const char *p;     /* next byte to read */
  const char *start; /* the input, for offsets */
  const char *end;   /* one past the last byte */
  const char *err;   /* the first error (static string), or NULL */
};

static inline void mastra_json_init(struct mastra_json_cursor *c, const char *json, size_t len) {
  c->p = c->start = json;
  c->end = json + len;
  c->err = NULL;
}

/* Records what as the error unless one is recorded already. Returns 0, for `return error(...)`. */
static inline int mastra_json_error(struct mastra_json_cursor *c, const char *what) {
  if (!c->err) c->err = what;
  return 0;
}

static inline void mastra_json_skip_ws(struct mastra_json_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* Skips white space; if the next byte is ch, consumes it and returns 1, else returns 0 (no error). */
static inline int mastra_json_expect(struct mastra_json_cursor *c, char ch) {
  mastra_json_skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* ---- UTF-8 ---- */

/* Writes cp (at most U+10FFFF; surrogates are encoded as they are) as 1-4 bytes; returns how many. */
static inline size_t mastra_utf8_encode(char *dst, uint32_t cp) {
  if (cp < 0x80) {
    dst[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    dst[0] = (char)(0xc0 | cp >> 6);
    dst[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    dst[0] = (char)(0xe0 | cp >> 12);
    dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
    dst[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  dst[0] = (char)(0xf0 | cp >> 18);
  dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
  dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
  dst[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/*
 * Decodes one UTF-8 sequence at s (n > 0 bytes available) the way Go's utf8.DecodeRune does:
 * returns the code point and sets *size, or returns -1 with *size = 1 for an invalid sequence
 * (overlong forms, surrogates and values above U+10FFFF are invalid).
 */
static inline int32_t mastra_utf8_decode(const unsigned char *s, size_t n, size_t *size) {
  unsigned char c = s[0];
  *size = 1;
  if (c < 0x80) return c;
  size_t need;
  uint32_t cp, min;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 2, cp = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 3, cp = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (n < need) return -1;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xc0) != 0x80) return -1;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  *size = need;
  return (int32_t)cp;
}

/* ---- strings ---- */

static inline int mastra_json_hexval_(char h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

/* Four hex digits at p (the caller checks they are there) -> *out; 0 if one is not a hex digit. */
static inline int mastra_json_hex4_(const char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = mastra_json_hexval_(p[i]);
    if (h < 0) return 0;
    v = v << 4 | (uint32_t)h;
  }
  *out = v;
  return 1;
}

/* mastra_json_scan_string, strict (lax 0) or lenient (lax 1). */
static inline int mastra_json_scan_string_(struct mastra_json_cursor *c, char *out, size_t *len, int lax) {
  const char *p = c->p + 1;
  size_t n = 0;
  char tmp[4];
  for (;;) {
    if (p >= c->end) return mastra_json_error(c, "unexpected end of JSON input");
    unsigned char ch = (unsigned char)*p;
    if (ch == '"') break;
    if (ch < 0x20 && !lax) return mastra_json_error(c, "invalid control character in string literal");
    if (ch == '\\') {
      if (c->end - p < 2) return mastra_json_error(c, "unexpected end of JSON input");
      char e = p[1], one = 0;
      p += 2;
      switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
          uint32_t cp, lo;
          if (c->end - p < 4 || !mastra_json_hex4_(p, &cp))
            return mastra_json_error(c, "invalid escape in string literal");
          p += 4;
          if (cp >= 0xd800 && cp < 0xe000) {
            int pair = cp < 0xdc00 && c->end - p >= 6 && p[0] == '\\' && p[1] == 'u';
            if (pair && mastra_json_hex4_(p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              p += 6;
            } else if (!lax) {
              cp = 0xfffd;
            } else if (pair) { /* lax: \uD8xx\u must be a pair; a lone surrogate stays as it is */
              return mastra_json_error(c, "invalid escape in string literal");
            }
          }
          size_t k = mastra_utf8_encode(tmp, cp); /* \uXXXX (6 bytes) -> at most 4 bytes */
          if (out) memcpy(out + n, tmp, k);
          n += k;
          continue;
        }
        default:
          return mastra_json_error(c, "invalid escape in string literal");
      }
      if (out) out[n] = one;
      n++;
      continue;
    }
    if (lax) { /* any other byte as it is */
      if (out) out[n] = (char)ch;
      n++;
      p++;
      continue;
    }
    size_t size;
    int32_t r = mastra_utf8_decode((const unsigned char *)p, (size_t)(c->end - p), &size);
    if (r < 0) {
      if (out) memcpy(out + n, "\xef\xbf\xbd", 3);
      n += 3;
      p++;
      continue;
    }
    if (out) memcpy(out + n, p, size);
    n += size;
    p += size;
  }
  c->p = p + 1;
  *len = n;
  return 1;
}

/*
 * Reads the JSON string at c->p (which must be '"') and moves past it. If out is NULL it only
 * validates and sets *len to the unescaped length; otherwise it writes the unescaped bytes (out
 * has room for *len from a validating pass; no NUL is added). Returns 1, or 0 on an error.
 */
static inline int mastra_json_scan_string(struct mastra_json_cursor *c, char *out, size_t *len) {
  return mastra_json_scan_string_(c, out, len, 0);
}

static inline char *mastra_json_read_string_(struct mastra_json_cursor *c, size_t *len, int lax) {
  mastra_json_skip_ws(c);
  if (c->p >= c->end || *c->p != '"') {
    mastra_json_error(c, c->p >= c->end ? "unexpected end of JSON input" : "expected a string");
    return NULL;
  }
  const char *at = c->p;
  if (!mastra_json_scan_string_(c, NULL, len, lax)) return NULL;
  char *s = (char *)malloc(*len + 1);
  if (!s) {
    mastra_json_error(c, "out of memory");
    return NULL;
  }
  c->p = at;
  mastra_json_scan_string_(c, s, len, lax);
  s[*len] = '\0';
  return s;
}

/*
 * Skips white space and reads a JSON string into a malloc'ed, NUL-terminated buffer that the
 * caller must free; *len is its length (it may contain NULs, from \u0000). Returns NULL on an
 * error (c->err: a syntax error, "expected a string" or "out of memory").
 */
static inline char *mastra_json_read_string(struct mastra_json_cursor *c, size_t *len) {
  return mastra_json_read_string_(c, len, 0);
}

/* mastra_json_read_string with the lenient string rules described at the top. */
static inline char *mastra_json_read_string_lax(struct mastra_json_cursor *c, size_t *len) {
  return mastra_json_read_string_(c, len, 1);
}

/* ---- other values ---- */

/* Consumes the literal lit ("true", "false", "null") at c->p. */
static inline int mastra_json_scan_literal(struct mastra_json_cursor *c, const char *lit) {
  size_t n = strlen(lit);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) return mastra_json_error(c, "invalid literal");
  c->p += n;
  return 1;
}

static inline int mastra_json_is_digit_(const struct mastra_json_cursor *c) {
  return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* Consumes a number at c->p: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static inline int mastra_json_scan_number(struct mastra_json_cursor *c) {
  if (c->p < c->end && *c->p == '-') c->p++;
  if (!mastra_json_is_digit_(c)) return mastra_json_error(c, "invalid number");
  if (*c->p++ != '0')
    while (mastra_json_is_digit_(c)) c->p++;
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (!mastra_json_is_digit_(c)) return mastra_json_error(c, "invalid number");
    while (mastra_json_is_digit_(c)) c->p++;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (!mastra_json_is_digit_(c)) return mastra_json_error(c, "invalid number");
    while (mastra_json_is_digit_(c)) c->p++;
  }
  return 1;
}

/* What kind of value starts at c->p, in encoding/json's words: "string", "object", "array",
 * "bool", "null" or "number" (anything else; mastra_json_skip_value tells whether it is valid). */
static inline const char *mastra_json_value_kind(const struct mastra_json_cursor *c) {
  switch (c->p < c->end ? *c->p : 0) {
    case '"': return "string";
    case '{': return "object";
    case '[': return "array";
    case 't': case 'f': return "bool";
    case 'n': return "null";
  }
  return "number";
}

/* Skips white space, then validates and skips one JSON value of any kind, iteratively (nesting up
 * to MASTRA_JSON_MAX_DEPTH). Returns 1, or 0 on an error. */
static inline int mastra_json_skip_value(struct mastra_json_cursor *c) {
  static unsigned char is_object[MASTRA_JSON_MAX_DEPTH]; /* per nesting level: object (1) or array (0) */
  int depth = 0;
  size_t len;
  for (;;) {
    /* a value */
    mastra_json_skip_ws(c);
    if (c->p >= c->end) return mastra_json_error(c, "unexpected end of JSON input");
    char ch = *c->p;
    if (ch == '{' || ch == '[') {
      if (depth == MASTRA_JSON_MAX_DEPTH) return mastra_json_error(c, "exceeded max depth");
      is_object[depth++] = ch == '{';
      c->p++;
      mastra_json_skip_ws(c);
      if (c->p < c->end && *c->p == (ch == '{' ? '}' : ']')) {
        c->p++;
        depth--;
      } else {
        if (ch == '{') {
          if (c->p >= c->end || *c->p != '"') return mastra_json_error(c, "expected an object key");
          if (!mastra_json_scan_string(c, NULL, &len)) return 0;
          mastra_json_skip_ws(c);
          if (c->p >= c->end || *c->p != ':') return mastra_json_error(c, "expected ':' after object key");
          c->p++;
        }
        continue; /* the first element */
      }
    } else if (ch == '"') {
      if (!mastra_json_scan_string(c, NULL, &len)) return 0;
    } else if (ch == 't') {
      if (!mastra_json_scan_literal(c, "true")) return 0;
    } else if (ch == 'f') {
      if (!mastra_json_scan_literal(c, "false")) return 0;
    } else if (ch == 'n') {
      if (!mastra_json_scan_literal(c, "null")) return 0;
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
      if (!mastra_json_scan_number(c)) return 0;
    } else {
      return mastra_json_error(c, "invalid character looking for beginning of value");
    }
    /* after a value: close containers, or go on to the next element */
    for (;;) {
      if (depth == 0) return 1;
      mastra_json_skip_ws(c);
      if (c->p >= c->end) return mastra_json_error(c, "unexpected end of JSON input");
      int obj = is_object[depth - 1];
      if (*c->p == (obj ? '}' : ']')) {
        c->p++;
        depth--;
        continue;
      }
      if (*c->p != ',') return mastra_json_error(c, "expected ',' or the end of an object or array");
      c->p++;
      if (obj) {
        mastra_json_skip_ws(c);
        if (c->p >= c->end || *c->p != '"') return mastra_json_error(c, "expected an object key");
        if (!mastra_json_scan_string(c, NULL, &len)) return 0;
        mastra_json_skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return mastra_json_error(c, "expected ':' after object key");
        c->p++;
      }
      break;
    }
  }
}

#ifdef __cplusplus
}
#endif

#endif /* MASTRA_JSON_H */
