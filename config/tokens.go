package config

import (
	"fmt"
	"strings"
)

// MinTokenBytes is the length below which a static token draws a warning at
// start: short enough to guess. A warning, not an error, so that a
// development setup with "dev" as its token still runs.
const MinTokenBytes = 16

// PluginResourcePrefix starts the resource a plugin entry's calls default
// to ("plugin:<name>"). The prefix is the server's: no token or JWT may
// name a resource under it.
const PluginResourcePrefix = "plugin:"

// PluginName is the name of a route's plugin: its name, else "METHOD path".
func (r Route) PluginName() string {
	if r.Name != "" {
		return r.Name
	}
	return strings.ToUpper(r.Method) + " " + r.Path
}

// FallbackResource is the resource that owns the threads of a plugin's
// calls when the request is scoped to none and the guest names none: the
// entry's resource_id, else "plugin:<name>".
func FallbackResource(resourceID, pluginName string) string {
	if resourceID != "" {
		return resourceID
	}
	return PluginResourcePrefix + pluginName
}

// ReservedResource is a resource the server itself writes under, and so
// no tenant may be bound to: Owner names the key that reserves it.
type ReservedResource struct {
	ID    string
	Owner string
}

// ReservedResources lists the resources no static token or JWT may be
// bound to: memory.default_resource_id (an admin request that names no
// resource is stored there) and each plugin entry's fallback resource (an
// unscoped call, such as an anonymous one on a public route, is stored
// there). A tenant bound to one would read those threads.
func (c *Config) ReservedResources() []ReservedResource {
	out := []ReservedResource{{ID: c.Memory.DefaultResourceID, Owner: "memory.default_resource_id"}}
	for i, mw := range c.Middleware {
		out = append(out, ReservedResource{FallbackResource(mw.ResourceID, mw.Name), fmt.Sprintf("middleware[%d]", i)})
	}
	for i, r := range c.Routes {
		out = append(out, ReservedResource{FallbackResource(r.ResourceID, r.PluginName()), fmt.Sprintf("routes[%d]", i)})
	}
	for i, t := range c.Tools {
		out = append(out, ReservedResource{FallbackResource(t.ResourceID, t.Name), fmt.Sprintf("tools[%d]", i)})
	}
	return out
}

// validateTokens checks what concerns the static tokens together: two
// entries with one value would merge two tenants (the request is bound to
// whichever entry matches last), and a token bound to a reserved resource
// would read what the server stores there.
func (c *Config) validateTokens(bad func(string, any, string, ...any)) {
	first := map[Secret]int{} // token value -> index of the first entry holding it
	for i, t := range c.Server.Auth.Tokens {
		if t.Value == "" {
			continue // reported as unset
		}
		if j, dup := first[t.Value]; dup {
			bad(fmt.Sprintf("server.auth.tokens[%d].env", i), t.Env,
				"holds the same token as server.auth.tokens[%d] (env %s, user %s), so both entries would be one tenant; give each entry its own token",
				j, c.Server.Auth.Tokens[j].Env, c.Server.Auth.Tokens[j].User)
			continue
		}
		first[t.Value] = i
	}
	reserved := c.ReservedResourceIndex()
	for i, t := range c.Server.Auth.Tokens {
		if t.Admin || t.ResourceID == "" {
			continue
		}
		if owner, ok := reserved(t.ResourceID); ok {
			bad(fmt.Sprintf("server.auth.tokens[%d].resource_id", i), t.ResourceID,
				"reserved for %s, which the server writes under for requests scoped to no resource; choose another resource", owner)
		}
	}
}

// ReservedResourceIndex returns a check of whether no token or JWT may be
// bound to id: it is one of ReservedResources, or under
// PluginResourcePrefix; owner says what reserves it, for messages. The list
// is indexed once, for a check made on every request.
func (c *Config) ReservedResourceIndex() func(id string) (owner string, ok bool) {
	owners := map[string]string{}
	for _, r := range c.ReservedResources() {
		if _, seen := owners[r.ID]; !seen {
			owners[r.ID] = r.Owner
		}
	}
	return func(id string) (string, bool) {
		if owner, ok := owners[id]; ok {
			return owner, true
		}
		if strings.HasPrefix(id, PluginResourcePrefix) {
			return fmt.Sprintf("plugins (resources starting with %q)", PluginResourcePrefix), true
		}
		return "", false
	}
}

// Warnings are what a start should report without refusing: today, static
// tokens shorter than MinTokenBytes. One line each, naming the entry,
// never the token.
func (c *Config) Warnings() []string {
	var out []string
	if !c.Server.Auth.Enabled {
		return nil
	}
	for i, t := range c.Server.Auth.Tokens {
		if t.Value != "" && len(t.Value) < MinTokenBytes {
			out = append(out, fmt.Sprintf("server.auth.tokens[%d] (env %s, user %s): the token is %d bytes, shorter than %d; use a long random token (openssl rand -hex 32) outside development",
				i, t.Env, t.User, len(t.Value), MinTokenBytes))
		}
	}
	return out
}
