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
#include "mastra_json.h"

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

/* ---- config (reader: mastra_json.h, lenient strings, as this plugin has always read them) ---- */

/* Reads a string into a malloc'ed, NUL-terminated buffer (unescaped). NULL on error. */
static char *read_string(struct mastra_json_cursor *c, uint32_t *len) {
  size_t n;
  char *s = mastra_json_read_string_lax(c, &n);
  if (s) *len = (uint32_t)n;
  return s;
}

/* Skips any JSON value. */
static int skip_value(struct mastra_json_cursor *c, int depth) {
  mastra_json_skip_ws(c);
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
    if (mastra_json_expect(c, close)) return 1;
    for (;;) {
      if (ch == '{') {
        if (!skip_value(c, depth + 1) || !mastra_json_expect(c, ':')) return 0;
      }
      if (!skip_value(c, depth + 1)) return 0;
      if (mastra_json_expect(c, ',')) continue;
      return mastra_json_expect(c, close);
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
  struct mastra_json_cursor c;
  mastra_json_init(&c, json, len);
  mastra_json_skip_ws(&c);
  if (c.p == c.end) return "no config: set [middleware.config] headers = { \"X-Header\" = \"contextKey\" }";
  if (!mastra_json_expect(&c, '{')) return "config is not a JSON object";
  if (mastra_json_expect(&c, '}')) return "config has no \"headers\" table";
  int seen = 0;
  for (;;) {
    uint32_t klen;
    char *key = read_string(&c, &klen);
    if (!key || !mastra_json_expect(&c, ':')) {
      free(key);
      return "invalid config JSON";
    }
    int is_headers = strcmp(key, "headers") == 0;
    free(key);
    if (!is_headers) {
      if (!skip_value(&c, 0)) return "invalid config JSON";
    } else {
      seen = 1;
      if (!mastra_json_expect(&c, '{')) return "config \"headers\" must be a table of header name -> context key";
      if (!mastra_json_expect(&c, '}')) {
        for (;;) {
          struct mapping m = {0};
          m.header = read_string(&c, &m.header_len);
          if (!m.header || !mastra_json_expect(&c, ':')) {
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
          if (mastra_json_expect(&c, ',')) continue;
          if (mastra_json_expect(&c, '}')) break;
          return "invalid config JSON in \"headers\"";
        }
      }
    }
    if (mastra_json_expect(&c, ',')) continue;
    if (mastra_json_expect(&c, '}')) break;
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
