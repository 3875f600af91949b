package server

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// The routes Mastra Studio calls besides agents, memory, tools and
// workflows (issue 16): the root it probes, the auth capabilities it reads
// before anything else, the model providers, and the routes of features
// this server does not have. Those answer what a Mastra server answers when
// the feature is off or empty, so Studio shows its own empty states and
// stops retrying: its data hooks retry an error and re-poll it, which made
// ~95 requests a second against a 404.

// ModelProvider is one model provider as GET /api/agents/providers lists
// it: a provider of the registry or of the configuration.
type ModelProvider struct {
	ID   string
	Name string
	// EnvVar is the variable its API key is read from ("" for none).
	EnvVar string
	// Connected: the provider has what it needs to answer (a key, or none
	// is needed).
	Connected bool
	// DocURL is where its documentation lives ("" for none).
	DocURL string
	// Models are the models this server's agents use from it.
	Models []string
}

// providerJSON is Mastra's ProviderListItem.
type providerJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	EnvVar      string   `json:"envVar,omitempty"`
	Connected   bool     `json:"connected"`
	DocURL      string   `json:"docUrl,omitempty"`
	Models      []string `json:"models"`
}

type providersJSON struct {
	Providers []providerJSON `json:"providers"`
}

// providersList is the providers in Mastra's shape; connectedOnly keeps
// those that can answer, as the agent builder's list does.
func (s *Server) providersList(connectedOnly bool) providersJSON {
	out := providersJSON{Providers: []providerJSON{}}
	for _, p := range s.providers {
		if connectedOnly && !p.Connected {
			continue
		}
		models := p.Models
		if models == nil {
			models = []string{}
		}
		out.Providers = append(out.Providers, providerJSON{ID: p.ID, Name: p.Name, Label: p.Name, EnvVar: p.EnvVar,
			Connected: p.Connected, DocURL: p.DocURL, Models: models})
	}
	return out
}

// rootIndexJSON is GET /: Studio probes the server's root and wants a 2xx.
type rootIndexJSON struct {
	Name   string `json:"name"`
	API    string `json:"api"`
	Docs   string `json:"docs,omitempty"`
	Health string `json:"health"`
}

func (s *Server) rootIndex(w http.ResponseWriter, r *http.Request) error {
	out := rootIndexJSON{Name: "mastra-server", API: "/api", Health: "/health"}
	if s.cfg.OpenAPI {
		out.Docs = DocsPath
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// authCapabilitiesJSON is Mastra's answer to GET /api/auth/capabilities:
// {enabled:false, login:null} without auth; with auth, the caller's user
// and no login flow (tokens are configured, not signed in with).
type authCapabilitiesJSON struct {
	Enabled      bool           `json:"enabled"`
	Login        *struct{}      `json:"login"`
	User         *authUserJSON  `json:"user,omitempty"`
	Capabilities *authFlagsJSON `json:"capabilities,omitempty"`
	// Access (roles and permissions) is null beside a user: no RBAC.
	Access *struct{} `json:"access,omitempty"`
}

// MarshalJSON writes access: null when there is a user, as Mastra does,
// and leaves it out of the public answer.
func (c authCapabilitiesJSON) MarshalJSON() ([]byte, error) {
	type plain authCapabilitiesJSON
	b, err := json.Marshal(plain(c))
	if err != nil || c.User == nil {
		return b, err
	}
	return append(b[:len(b)-1], `,"access":null}`...), nil
}

type authUserJSON struct {
	ID string `json:"id"`
}

type authFlagsJSON struct {
	User    bool `json:"user"`
	Session bool `json:"session"`
	SSO     bool `json:"sso"`
	RBAC    bool `json:"rbac"`
	ACL     bool `json:"acl"`
	FGA     bool `json:"fga"`
}

func (s *Server) authCapabilities(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Auth.Enabled {
		transport.WriteJSON(w, http.StatusOK, authCapabilitiesJSON{})
		return nil
	}
	out := authCapabilitiesJSON{Enabled: true}
	if v := reqctx.From(r.Context()); v != nil {
		if user, ok := v.GetString(reqctx.UserKey); ok && user != "" {
			out.User = &authUserJSON{ID: user}
			out.Capabilities = &authFlagsJSON{User: true}
		}
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// builderSettingsJSON is GET /api/editor/builder/settings of a Mastra
// server without an editor.
type builderSettingsJSON struct {
	Enabled     bool `json:"enabled"`
	ModelPolicy struct {
		Active bool `json:"active"`
	} `json:"modelPolicy"`
}

func (s *Server) builderSettings(w http.ResponseWriter, r *http.Request) error {
	transport.WriteJSON(w, http.StatusOK, builderSettingsJSON{})
	return nil
}

// builderModels: the connected providers, which the agent builder may use.
func (s *Server) builderModels(w http.ResponseWriter, r *http.Request) error {
	transport.WriteJSON(w, http.StatusOK, s.providersList(true))
	return nil
}

// systemPackagesJSON is GET /api/system/packages: no npm packages here, no
// editor and no observability storage, which Studio's Metrics page reads
// to show its "not enabled" state.
type systemPackagesJSON struct {
	Packages             []any  `json:"packages"`
	IsDev                bool   `json:"isDev"`
	CMSEnabled           bool   `json:"cmsEnabled"`
	ObservabilityEnabled bool   `json:"observabilityEnabled"`
	StorageType          string `json:"storageType,omitempty"`
	// With stored traces ([observability]): what Studio checks before
	// showing its Metrics and Logs pages.
	ObservabilityStorageType         string                 `json:"observabilityStorageType,omitempty"`
	ObservabilityStorageCapabilities *observabilityCapsJSON `json:"observabilityStorageCapabilities,omitempty"`
}

type observabilityCapsJSON struct {
	Metrics             bool `json:"metrics"`
	Logs                bool `json:"logs"`
	TraceQueryDiscovery bool `json:"traceQueryDiscovery"`
}

func (s *Server) systemPackages(w http.ResponseWriter, r *http.Request) error {
	out := systemPackagesJSON{Packages: []any{}}
	if s.store != nil {
		out.StorageType = s.store.Kind()
	}
	if s.cfg.Observability {
		out.ObservabilityEnabled = true
		out.ObservabilityStorageType = "MastraServerObservability"
		out.ObservabilityStorageCapabilities = &observabilityCapsJSON{Metrics: true, Logs: true}
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// subscribeThread answers as a Mastra server whose agents cannot be
// subscribed to (agent signals, which start runs of a thread elsewhere and
// stream them to subscribers). Studio reads 404, 405 and 501 here as "not
// supported" and sends its messages and approvals by the plain stream
// routes from then on. It is 405, not the 501 of a Mastra server whose
// core lacks subscriptions: client-js retries a 5xx three times (100 to
// 400 ms apart) and, while it does, Studio sends an approval by
// send-tool-approval and waits for the rest of the turn on the
// subscription, so the result showed only after a reload (issue 22); a
// 4xx is not retried. The Allow header is OPTIONS only: no method
// subscribes. Any other answer sends Studio down its signals path: an
// open stream made it post to /send-message and /signals, fail, and show
// the user's message twice; a 404 for the agents/providers route beside
// it made it re-render and resubscribe dozens of times a second (issue 16).
func (s *Server) subscribeThread(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId")); err != nil {
		return err
	}
	w.Header().Set("Allow", "OPTIONS")
	return &transport.Error{Status: http.StatusMethodNotAllowed,
		Message: "agent thread subscriptions are not supported by mastra-server"}
}

// voiceSpeakers: the agents have no voice, so no speakers; Studio hides
// its voice controls on an empty list.
func (s *Server) voiceSpeakers(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId")); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, []any{})
	return nil
}

// paginationJSON is Mastra's page information of observability listings.
type paginationJSON struct {
	Total   int  `json:"total"`
	Page    int  `json:"page"`
	PerPage int  `json:"perPage"`
	HasMore bool `json:"hasMore"`
}

// featureOff answers a route of a feature this server does not have with
// the empty value Mastra gives when it has nothing to list.
func featureOff(v any) handlerFunc {
	b, err := json.Marshal(v)
	if err != nil {
		panic("server: featureOff value: " + err.Error()) // a literal of this file
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(b)
		return err
	}
}

// The empty answers, by route (see routes.go).
var (
	emptyObject        = map[string]any{}
	emptyList          = []any{}
	emptyPage          = paginationJSON{PerPage: 10}
	emptyWorkspaces    = map[string]any{"workspaces": []any{}}
	emptySchedules     = map[string]any{"schedules": []any{}}
	emptyDatasets      = map[string]any{"datasets": []any{}, "pagination": emptyPage}
	emptyExperiments   = map[string]any{"experiments": []any{}, "pagination": emptyPage}
	emptyReviewSummary = map[string]any{"counts": []any{}}
	emptyTraceFields   = map[string]any{"canonicalFields": []any{}, "observedFields": []any{}, "observedFieldsTruncated": false}
	emptyTags          = map[string]any{"tags": []any{}}
)
