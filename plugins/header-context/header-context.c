/*
 * header-context: a mastra-server middleware that copies request headers into the request
 * context, so that agents, tools and later plugins can see them.
 *
 * Config (mastra.toml [middleware.config] -> JSON):
 *   {"headers": {"X-Tenant-Id": "tenant", "X-User-Id": "userId"}}
 * For each request that carries X-Tenant-Id: acme it calls ctx_set("tenant", "\"acme\"").
 * Missing headers are skipped; only the first value of a header is copied. It always continues
 * (next = 1).
 */
#include "mastra.h"

#define MAX_MAPPINGS 32

struct mapping {
  char *header;
  uint32_t header_len;
  char *key;
  uint32_t key_len;
};

static struct mapping mappings[MAX_MAPPINGS];
static int n_mappings;
static int loaded;

/* ---- a small JSON reader, enough for the config ---- */

struct cursor {
  const char *p, *end;
  int err;
};

static void skip_ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int expect(struct cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

static int hexval(char h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

static int read_hex4(struct cursor *c, uint32_t *out) {
  if (c->end - c->p < 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(c->p[i]);
    if (h < 0) return 0;
    v = v << 4 | (uint32_t)h;
  }
  c->p += 4;
  *out = v;
  return 1;
}

static size_t put_utf8(char *dst, uint32_t cp) {
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

/* Reads a JSON string into a malloc'ed, NUL-terminated buffer (unescaped). NULL on error. */
static char *read_string(struct cursor *c, uint32_t *len) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != '"') return NULL;
  c->p++;
  /* the unescaped text is never longer than the escaped one */
  const char *start = c->p;
  while (c->p < c->end && *c->p != '"') c->p += (*c->p == '\\') ? 2 : 1;
  if (c->p >= c->end) return NULL;
  size_t max = (size_t)(c->p - start);
  c->p = start;
  char *out = malloc(max + 1);
  if (!out) return NULL;
  size_t n = 0;
  while (*c->p != '"') {
    char ch = *c->p++;
    if (ch != '\\') {
      out[n++] = ch;
      continue;
    }
    char e = *c->p++;
    uint32_t cp;
    switch (e) {
      case '"': out[n++] = '"'; break;
      case '\\': out[n++] = '\\'; break;
      case '/': out[n++] = '/'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u':
        if (!read_hex4(c, &cp)) goto fail;
        if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
          uint32_t lo;
          c->p += 2;
          if (!read_hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff) goto fail;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        n += put_utf8(out + n, cp); /* \uXXXX (6 bytes) -> at most 4 bytes */
        break;
      default:
        goto fail;
    }
  }
  c->p++; /* closing quote */
  out[n] = '\0';
  *len = (uint32_t)n;
  return out;
fail:
  free(out);
  return NULL;
}

/* Skips any JSON value. */
static int skip_value(struct cursor *c, int depth) {
  skip_ws(c);
  if (c->p >= c->end || depth > 32) return 0;
  char ch = *c->p;
  if (ch == '"') {
    uint32_t n;
    char *s = read_string(c, &n);
    if (!s) return 0;
    free(s);
    return 1;
  }
  if (ch == '{' || ch == '[') {
    char close = ch == '{' ? '}' : ']';
    c->p++;
    if (expect(c, close)) return 1;
    for (;;) {
      if (ch == '{') {
        if (!skip_value(c, depth + 1) || !expect(c, ':')) return 0;
      }
      if (!skip_value(c, depth + 1)) return 0;
      if (expect(c, ',')) continue;
      return expect(c, close);
    }
  }
  /* number, true, false, null */
  const char *start = c->p;
  while (c->p < c->end && *c->p != ',' && *c->p != '}' && *c->p != ']' && *c->p != ' ' && *c->p != '\n' &&
         *c->p != '\r' && *c->p != '\t')
    c->p++;
  return c->p > start;
}

/* Parses {"headers": {"Header": "key", ...}, ...}. Returns an error message or NULL. */
static const char *parse_config(const char *json, uint32_t len) {
  struct cursor c = {json, json + len, 0};
  skip_ws(&c);
  if (c.p == c.end) return "no config: set [middleware.config] headers = { \"X-Header\" = \"contextKey\" }";
  if (!expect(&c, '{')) return "config is not a JSON object";
  if (expect(&c, '}')) return "config has no \"headers\" table";
  int seen = 0;
  for (;;) {
    uint32_t klen;
    char *key = read_string(&c, &klen);
    if (!key || !expect(&c, ':')) {
      free(key);
      return "invalid config JSON";
    }
    int is_headers = strcmp(key, "headers") == 0;
    free(key);
    if (!is_headers) {
      if (!skip_value(&c, 0)) return "invalid config JSON";
    } else {
      seen = 1;
      if (!expect(&c, '{')) return "config \"headers\" must be a table of header name -> context key";
      if (!expect(&c, '}')) {
        for (;;) {
          struct mapping m = {0};
          m.header = read_string(&c, &m.header_len);
          if (!m.header || !expect(&c, ':')) {
            free(m.header);
            return "invalid config JSON in \"headers\"";
          }
          m.key = read_string(&c, &m.key_len);
          if (!m.key) {
            free(m.header);
            return "config \"headers\" values must be strings (context keys)";
          }
          if (n_mappings == MAX_MAPPINGS) {
            free(m.header);
            free(m.key);
            return "too many headers in config (max 32)";
          }
          mappings[n_mappings++] = m;
          if (expect(&c, ',')) continue;
          if (expect(&c, '}')) break;
          return "invalid config JSON in \"headers\"";
        }
      }
    }
    if (expect(&c, ',')) continue;
    if (expect(&c, '}')) break;
    return "invalid config JSON";
  }
  return seen ? NULL : "config has no \"headers\" table";
}

static void load(void) {
  loaded = 1;
  uint32_t len = 0;
  char *json = mastra_config(&len);
  if (!json) {
    mastra_log_str(MASTRA_LOG_ERROR, "header-context: cannot read config");
    return;
  }
  const char *err = parse_config(json, len);
  free(json);
  if (err) {
    static const char prefix[] = "header-context: ";
    char msg[256];
    size_t pl = sizeof prefix - 1, el = strlen(err);
    if (el > sizeof msg - pl) el = sizeof msg - pl;
    memcpy(msg, prefix, pl);
    memcpy(msg + pl, err, el);
    http_log(MASTRA_LOG_ERROR, msg, (uint32_t)(pl + el));
  }
}

/* ---- the handler ---- */

static char value_buf[4096];

MASTRA_DECLARE_ABI_V1()

MASTRA_EXPORT("handle_request") int64_t handle_request(void) {
  if (!loaded) load();
  for (int i = 0; i < n_mappings; i++) {
    struct mapping *m = &mappings[i];
    char *buf = value_buf;
    uint64_t r = http_get_header_values(MASTRA_KIND_REQUEST, m->header, m->header_len, buf, sizeof value_buf);
    uint32_t count = mastra_hi(r), len = mastra_lo(r);
    if (count == 0) continue;
    if (len > sizeof value_buf) { /* rare: a huge header; fetch it into a heap buffer */
      buf = malloc(len);
      if (!buf) continue;
      r = http_get_header_values(MASTRA_KIND_REQUEST, m->header, m->header_len, buf, len);
      if (mastra_hi(r) == 0 || mastra_lo(r) > len) {
        free(buf);
        continue;
      }
      len = mastra_lo(r);
    }
    uint32_t first = 0; /* the first value ends at its NUL */
    while (first < len && buf[first] != '\0') first++;
    uint32_t st = mastra_ctx_set_string(m->key, buf, first);
    if (buf != value_buf) free(buf);
    if (st != MASTRA_OK && http_log_enabled(MASTRA_LOG_WARN)) {
      char msg[128];
      static const char text[] = "header-context: ctx_set failed for key ";
      size_t tl = sizeof text - 1, kl = m->key_len < 64 ? m->key_len : 64;
      memcpy(msg, text, tl);
      memcpy(msg + tl, m->key, kl);
      http_log(MASTRA_LOG_WARN, msg, (uint32_t)(tl + kl));
    }
  }
  return MASTRA_NEXT;
}
