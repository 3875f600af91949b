/*
 * bearer-auth: a mastra-server middleware that requires "Authorization: Bearer <token>" and
 * compares the token, in constant time, with the value of an environment variable granted to the
 * plugin (mastra.toml: env = ["MASTRA_API_TOKEN"]).
 *
 * Config (mastra.toml [middleware.config] -> JSON), decoded like Go's encoding/json into a struct:
 *   token_env  name of the environment variable holding the token   (default "MASTRA_API_TOKEN")
 *   user_key   request-context key that receives user on success   (default unset: nothing stored)
 *   user       the value stored under user_key, as a JSON string    (default "api")
 * Key names match case-insensitively, unknown keys are ignored, null leaves the default, a
 * non-string value or invalid JSON is a config error.
 *
 * Missing, malformed or wrong token: 401 {"error":"Unauthorized"} with Content-Type:
 * application/json and WWW-Authenticate: Bearer. While the token variable is unset or empty the
 * error reads "Unauthorized: the server has no token configured", so whoever holds the right
 * token learns that no token can work (it tells an attacker nothing: every request fails). Right token: next = 1 (after ctx_set if
 * user_key is set). It fails closed: if the config is invalid or the variable is unset or empty,
 * every request gets 401, and the reason is logged once per instance.
 */
#include <wasi/api.h>

#include "mastra.h"
#include "mastra_json.h"

/* ---- state (per instance; loaded on the first request) ---- */

static int loaded;
static const char *misconfig; /* why every request is refused, if it is (malloc'ed) */
static int no_token;           /* the token variable is unset or empty */
static int logged_once;
static const char *token; /* the expected token (from the environment, never empty when used) */
static size_t token_len;

static char *cfg_token_env; /* NULL: default */
static size_t cfg_token_env_len;
static char *cfg_user_key; /* NULL or "": do not touch the request context */
static size_t cfg_user_key_len;
static char *cfg_user; /* NULL: default "api" */
static size_t cfg_user_len;
static char *user_json; /* JSON string of the user, if user_key is set */
static size_t user_json_len;

static const char unauthorized_body[] = "{\"error\":\"Unauthorized\"}";
static const char no_token_body[] = "{\"error\":\"Unauthorized: the server has no token configured\"}";

/* ---- strings ---- */

struct buf {
  char *p;
  size_t n, cap;
  int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* Returns the accumulated string (malloc'ed), or a static fallback if memory ran out. */
static char *buf_done(struct buf *b, const char *fallback) {
  if (b->oom || !b->p) {
    free(b->p);
    return (char *)fallback;
  }
  return b->p;
}

/* Go's unicode.IsSpace. */
static int is_space_rune(int32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
      return 1;
  }
  return r >= 0x2000 && r <= 0x200a;
}

/* Go's strings.TrimSpace: trims Unicode white space (runes that decode validly) at both ends. */
static void trim_space(const char **s, size_t *n) {
  const unsigned char *p = (const unsigned char *)*s;
  size_t len = *n, size;
  while (len > 0) {
    int32_t r = mastra_utf8_decode(p, len, &size);
    if (r < 0 || !is_space_rune(r)) break;
    p += size;
    len -= size;
  }
  while (len > 0) {
    /* the last rune starts at the last non-continuation byte among the final 4 */
    size_t start = len - 1;
    while (start > 0 && len - start < 4 && (p[start] & 0xc0) == 0x80) start--;
    int32_t r = mastra_utf8_decode(p + start, len - start, &size);
    if (r < 0 || start + size != len) r = -1, size = 1; /* Go: RuneError, 1 */
    if (r < 0 || !is_space_rune(r)) break;
    len -= size;
  }
  *s = (const char *)p;
  *n = len;
}

/* ---- config: encoding/json semantics for a struct of strings (reader: mastra_json.h) ---- */

/*
 * encoding/json matches object keys to field names case-insensitively, folding each rune with
 * ToUpper(ToLower(r)): besides ASCII, U+017F (long s) folds to S and U+212A (Kelvin) to K.
 */
static int key_matches(const char *key, size_t n, const char *field) {
  const unsigned char *k = (const unsigned char *)key;
  size_t i = 0;
  for (; *field; field++) {
    char f = *field; /* field names are lower-case ASCII */
    if (i >= n) return 0;
    if (k[i] < 0x80) {
      char ch = (char)k[i];
      if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
      if (ch != f) return 0;
      i++;
    } else if (f == 's' && n - i >= 2 && k[i] == 0xc5 && k[i + 1] == 0xbf) {
      i += 2;
    } else if (f == 'k' && n - i >= 3 && k[i] == 0xe2 && k[i + 1] == 0x84 && k[i + 2] == 0xaa) {
      i += 3;
    } else {
      return 0;
    }
  }
  return i == n;
}

/*
 * Decodes the config. Returns NULL, or an error message (malloc'ed). As with json.Unmarshal, a
 * syntax error anywhere wins over a type error, and empty input means "all defaults".
 */
static char *decode_config(const char *json, size_t len) {
  static const char *const fields[3] = {"token_env", "user_key", "user"};
  char **dst[3] = {&cfg_token_env, &cfg_user_key, &cfg_user};
  size_t *dst_len[3] = {&cfg_token_env_len, &cfg_user_key_len, &cfg_user_len};
  struct mastra_json_cursor c;
  const char *type_kind = NULL, *type_field = NULL; /* the first type error */

  if (len == 0) return NULL;
  mastra_json_init(&c, json, len);
  mastra_json_skip_ws(&c);
  if (c.p < c.end && *c.p == '{') {
    c.p++;
    mastra_json_skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
      c.p++;
    } else {
      for (;;) {
        mastra_json_skip_ws(&c);
        if (c.p >= c.end || *c.p != '"') {
          mastra_json_error(&c, c.p >= c.end ? "unexpected end of JSON input" : "expected an object key");
          break;
        }
        size_t klen;
        char *key = mastra_json_read_string(&c, &klen);
        if (!key) break;
        int field = -1;
        for (int i = 0; i < 3 && field < 0; i++)
          if (key_matches(key, klen, fields[i])) field = i;
        free(key);
        mastra_json_skip_ws(&c);
        if (c.p >= c.end || *c.p != ':') {
          mastra_json_error(&c, "expected ':' after object key");
          break;
        }
        c.p++;
        mastra_json_skip_ws(&c);
        if (field >= 0 && c.p < c.end && *c.p == '"') {
          size_t vlen;
          char *v = mastra_json_read_string(&c, &vlen);
          if (!v) break;
          if (*dst[field]) free(*dst[field]); /* a later duplicate key wins */
          *dst[field] = v;
          *dst_len[field] = vlen;
        } else {
          const char *kind = mastra_json_value_kind(&c);
          if (!mastra_json_skip_value(&c)) break;
          if (field >= 0 && strcmp(kind, "null") != 0 && !type_field) { /* null leaves the default */
            type_kind = kind;
            type_field = fields[field];
          }
        }
        mastra_json_skip_ws(&c);
        if (c.p < c.end && *c.p == ',') {
          c.p++;
          continue;
        }
        if (c.p < c.end && *c.p == '}') {
          c.p++;
          break;
        }
        mastra_json_error(&c, c.p >= c.end ? "unexpected end of JSON input" : "expected ',' or '}' after object value");
        break;
      }
    }
  } else {
    const char *kind = mastra_json_value_kind(&c);
    if (mastra_json_skip_value(&c) && strcmp(kind, "null") != 0) type_kind = kind; /* top-level null: no-op */
  }
  if (!c.err) {
    mastra_json_skip_ws(&c);
    if (c.p < c.end) mastra_json_error(&c, "invalid character after top-level value");
  }

  struct buf b = {0};
  if (c.err) {
    char off[24];
    size_t o = (size_t)(c.p - c.start), k = sizeof off;
    off[--k] = '\0';
    do off[--k] = (char)('0' + o % 10); while ((o /= 10) > 0 && k > 0);
    buf_str(&b, "invalid config JSON: ");
    buf_str(&b, c.err);
    buf_str(&b, " (offset ");
    buf_str(&b, off + k);
    buf_str(&b, ")");
    return buf_done(&b, "invalid config JSON");
  }
  if (type_kind) {
    buf_str(&b, "invalid config: cannot decode ");
    buf_str(&b, type_kind);
    if (type_field) {
      buf_str(&b, " into \"");
      buf_str(&b, type_field);
      buf_str(&b, "\" (want a string)");
    } else {
      buf_str(&b, " (want an object)");
    }
    return buf_done(&b, "invalid config");
  }
  return NULL;
}

/* ---- load ---- */

/*
 * Looks a variable up in the WASI environment (the host passes only the variables granted with
 * env = [...]). Like Go's os.Getenv, the first "NAME=" entry wins. This calls environ_sizes_get
 * and environ_get directly rather than wasi-libc's getenv, whose environ initialisation would also
 * import proc_exit (to exit on allocation failure). Returns NULL if absent; sets *oom on failure.
 */
static const char *lookup_env(const char *name, size_t name_len, int *oom) {
  __wasi_size_t count = 0, size = 0;
  if (__wasi_environ_sizes_get(&count, &size) != __WASI_ERRNO_SUCCESS || count == 0) return NULL;
  char **ptrs = malloc(((size_t)count + 1) * sizeof *ptrs);
  char *strs = malloc(size);
  const char *found = NULL;
  if (!ptrs || !strs) {
    *oom = 1;
  } else if (__wasi_environ_get((uint8_t **)ptrs, (uint8_t *)strs) == __WASI_ERRNO_SUCCESS) {
    for (__wasi_size_t i = 0; i < count && !found; i++)
      if (strncmp(ptrs[i], name, name_len) == 0 && ptrs[i][name_len] == '=') found = ptrs[i] + name_len + 1;
  }
  free(ptrs);
  if (!found) free(strs); /* otherwise the value lives on in strs, for the instance's lifetime */
  return found;
}

static void load(void) {
  loaded = 1;
  uint32_t len = 0;
  char *json = mastra_config(&len);
  if (!json) {
    misconfig = "cannot read the config (out of memory)";
    return;
  }
  misconfig = decode_config(json, len);
  free(json);
  if (misconfig) return;

  const char *env_name = cfg_token_env ? cfg_token_env : "MASTRA_API_TOKEN";
  size_t env_len = cfg_token_env ? cfg_token_env_len : strlen(env_name);
  if (env_len == 0) {
    misconfig = "config \"token_env\" is empty";
    return;
  }
  /* A name with a NUL or '=' cannot name a variable (Go's os.Getenv finds nothing either). */
  int oom = 0;
  const char *value = (strlen(env_name) == env_len && !strchr(env_name, '=')) ? lookup_env(env_name, env_len, &oom) : NULL;
  if (oom) {
    misconfig = "cannot read the environment (out of memory): rejecting every request";
    return;
  }
  if (!value || !*value) {
    no_token = 1;
    struct buf b = {0};
    buf_str(&b, "environment variable ");
    buf_add(&b, env_name, env_len);
    buf_str(&b, " is unset or empty (grant it with env = [\"");
    buf_add(&b, env_name, env_len);
    buf_str(&b, "\"] and set it): rejecting every request");
    misconfig = buf_done(&b, "the token environment variable is unset or empty: rejecting every request");
    return;
  }
  token = value;
  token_len = strlen(value);

  if (cfg_user_key && cfg_user_key_len > 0) { /* the context value is the same for every request */
    const char *user = cfg_user ? cfg_user : "api";
    size_t user_len = cfg_user ? cfg_user_len : 3;
    size_t need = mastra_json_quote(NULL, 0, user, user_len);
    user_json = malloc(need + 1);
    if (!user_json) {
      misconfig = "out of memory";
      return;
    }
    user_json_len = mastra_json_quote(user_json, need + 1, user, user_len);
  }
}

/* ---- the handler ---- */

static void log_error(const char *msg) {
  struct buf m = {0};
  buf_str(&m, "bearer-auth: ");
  buf_str(&m, msg);
  if (!m.oom && m.p) {
    http_log(MASTRA_LOG_ERROR, m.p, (uint32_t)m.n);
  } else {
    mastra_log_str(MASTRA_LOG_ERROR, "bearer-auth: misconfigured, rejecting every request");
  }
  free(m.p);
}

static int64_t unauthorized(void) {
  mastra_resp_set_header("Content-Type", "application/json");
  mastra_resp_set_header("WWW-Authenticate", "Bearer");
  mastra_set_status(401);
  if (no_token) {
    mastra_write(no_token_body, sizeof no_token_body - 1);
  } else {
    mastra_write(unauthorized_body, sizeof unauthorized_body - 1);
  }
  return MASTRA_DONE;
}

/*
 * Extracts the token from an Authorization value "Bearer <token>": the scheme is
 * case-insensitive and must be followed by a space or tab; the token is the rest with white
 * space trimmed and must not be empty.
 */
static int bearer_token(const char *h, size_t n, const char **tok, size_t *tok_len) {
  static const char scheme[] = "bearer";
  const size_t sl = sizeof scheme - 1;
  if (n <= sl) return 0;
  for (size_t i = 0; i < sl; i++) {
    char ch = h[i];
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    if (ch != scheme[i]) return 0;
  }
  if (h[sl] != ' ' && h[sl] != '\t') return 0;
  *tok = h + sl;
  *tok_len = n - sl;
  trim_space(tok, tok_len);
  return *tok_len != 0;
}

/*
 * Constant-time comparison with the expected token. The running time depends only on the length
 * of the presented token (which the client knows anyway), never on where a mismatch is, nor on
 * the expected token's content or length: every presented byte is XORed with a byte of the
 * expected token (cycling through it, index wrapped without a branch) into one accumulator, and
 * the lengths are XORed in too; there is no early exit.
 */
static int token_equal(const char *got, size_t got_len) {
  const unsigned char *g = (const unsigned char *)got, *e = (const unsigned char *)token;
  volatile uint32_t diff = (uint32_t)(got_len ^ token_len) | (uint32_t)((uint64_t)(got_len ^ token_len) >> 32);
  size_t j = 0;
  for (size_t i = 0; i < got_len; i++) {
    diff |= (uint32_t)(g[i] ^ e[j]);
    j++;
    j &= -(size_t)(j < token_len); /* j = j < token_len ? j : 0, as a mask */
  }
  return diff == 0;
}

/* "bearer-auth: cannot set request context <key>: <errno>", as the Go SDK's Errno.Error() says it. */
static void log_ctx_failure(uint32_t st) {
  const char *why;
  switch (st) {
    case MASTRA_E2BIG: why = "E2BIG: value too large"; break;
    case MASTRA_ECANCELED: why = "ECANCELED: canceled"; break;
    case MASTRA_EINVAL: why = "EINVAL: invalid argument"; break;
    case MASTRA_EIO: why = "EIO: host call failed"; break;
    case MASTRA_ENOENT: why = "ENOENT: not found"; break;
    case MASTRA_ENOSYS: why = "ENOSYS: not supported"; break;
    case MASTRA_EPERM: why = "EPERM: not permitted (capability not granted)"; break;
    case MASTRA_ETIMEDOUT: why = "ETIMEDOUT: timed out"; break;
    default: why = "host error"; break;
  }
  struct buf m = {0};
  buf_str(&m, "bearer-auth: cannot set request context ");
  buf_add(&m, cfg_user_key, cfg_user_key_len);
  buf_str(&m, ": ");
  buf_str(&m, why);
  if (!m.oom && m.p) http_log(MASTRA_LOG_WARN, m.p, (uint32_t)m.n);
  free(m.p);
}

static char header_buf[2048];

MASTRA_DECLARE_ABI_V1()

MASTRA_EXPORT("handle_request") int64_t handle_request(void) {
  if (!loaded) load();
  if (misconfig) {
    if (!logged_once) {
      logged_once = 1;
      log_error(misconfig);
    }
    return unauthorized();
  }

  /* the first Authorization value ("" if absent) */
  static const char name[] = "Authorization";
  char *h = header_buf;
  uint64_t r = http_get_header_values(MASTRA_KIND_REQUEST, name, sizeof name - 1, h, sizeof header_buf);
  uint32_t count = mastra_hi(r), len = mastra_lo(r);
  if (count == 0) return unauthorized();
  if (len > sizeof header_buf) { /* a long header: fetch it into a heap buffer */
    h = malloc(len);
    if (!h) return unauthorized();
    r = http_get_header_values(MASTRA_KIND_REQUEST, name, sizeof name - 1, h, len);
    if (mastra_hi(r) == 0 || mastra_lo(r) > len) {
      free(h);
      return unauthorized();
    }
    len = mastra_lo(r);
  }
  size_t first = 0;
  while (first < len && h[first] != '\0') first++;

  const char *tok;
  size_t tok_len;
  int ok = bearer_token(h, first, &tok, &tok_len) && token_equal(tok, tok_len);
  if (h != header_buf) free(h);
  if (!ok) return unauthorized();

  if (user_json) {
    uint32_t st = mastra_ctx_set(cfg_user_key, (uint32_t)cfg_user_key_len, user_json, (uint32_t)user_json_len);
    if (st != MASTRA_OK) log_ctx_failure(st);
  }
  return MASTRA_NEXT;
}
