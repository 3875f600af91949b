package transport

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CORS configures cross-origin requests. An empty Origins list turns CORS
// off (no headers: same-origin only).
type CORS struct {
	// Origins are allowed on an exact match (a trailing "/" is ignored);
	// "*" allows any origin, but never together with Credentials.
	Origins       []string
	AllowMethods  []string
	AllowHeaders  []string
	ExposeHeaders []string
	Credentials   bool
	MaxAge        time.Duration
}

// CrossOrigin adds CORS headers to responses for allowed origins and
// answers preflight requests itself (204), before auth and routing: a
// preflight carries no token.
func CrossOrigin(c CORS) func(http.Handler) http.Handler {
	x := &cors{
		origins:     map[string]bool{},
		credentials: c.Credentials,
		methods:     strings.Join(c.AllowMethods, ","),
		headers:     strings.Join(c.AllowHeaders, ","),
		expose:      strings.Join(c.ExposeHeaders, ","),
		maxAge:      strconv.Itoa(int(c.MaxAge.Seconds())),
	}
	for _, o := range c.Origins {
		if o == "*" {
			x.any = true
		} else {
			x.origins[strings.TrimSuffix(o, "/")] = true
		}
	}
	return x.handler
}

// cors is CORS prepared for the per-request check.
type cors struct {
	any         bool
	origins     map[string]bool
	credentials bool
	methods     string
	headers     string
	expose      string
	maxAge      string
}

func (c *cors) handler(next http.Handler) http.Handler {
	if !c.any && len(c.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := c.origins[origin] || (c.any && !c.credentials)
		preflight := isPreflight(r)
		if allowed {
			if c.any && !c.credentials && !c.origins[origin] {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			if c.credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if c.expose != "" && !preflight {
				h.Set("Access-Control-Expose-Headers", c.expose)
			}
		}
		if !preflight {
			next.ServeHTTP(w, r)
			return
		}
		// A preflight never reaches auth or routing: it carries no token.
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if allowed {
			h.Set("Access-Control-Allow-Methods", c.methods)
			h.Set("Access-Control-Allow-Headers", c.headers)
			h.Set("Access-Control-Max-Age", c.maxAge)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}
