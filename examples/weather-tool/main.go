// Command weather-tool is an example mastra-server agent tool in standard Go. The agent loop (or
// POST /api/tools/weather/execute) calls it with the arguments as the JSON request body:
//
//	{"city": "Oslo"}  ->  {"city": "Oslo", "tempC": 7, "conditions": "cloudy"}
//
// The weather is made up but deterministic: the same city always gets the same answer, so tests and
// demos can rely on it. When the request context holds a value under the configured key (default
// "tenant", which the header-context middleware sets from X-Tenant-Id), it is echoed as "tenant".
// A body that is not {"city": "<non-empty string>"} gets 400 {"error": "..."}.
package main

import (
	"encoding/json"
	"hash/fnv"
	"strings"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

type config struct {
	ContextKey string `json:"context_key"` // request-context key echoed as "tenant"; "" turns it off
}

var cfg = config{ContextKey: "tenant"}

var conditions = []string{"sunny", "partly cloudy", "cloudy", "light rain", "rain", "windy", "foggy", "snow"}

func init() {
	if err := mastra.DecodeConfig(&cfg); err != nil {
		mastra.Log(mastra.LevelError, "weather-tool: "+err.Error())
	}
	mastra.HandleRequest(weather)
}

type result struct {
	City       string          `json:"city"`
	TempC      int             `json:"tempC"`
	Conditions string          `json:"conditions"`
	Tenant     json.RawMessage `json:"tenant,omitempty"`
}

// forecast derives the weather from the city's name.
func forecast(city string) result {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(city)))
	n := h.Sum32()
	return result{City: city, TempC: int(n%46) - 10, Conditions: conditions[(n/46)%uint32(len(conditions))]}
}

func weather(req mastra.Request, resp mastra.Response) bool {
	var args struct {
		City *string `json:"city"`
	}
	if err := json.Unmarshal(req.Body(), &args); err != nil {
		resp.WriteJSON(400, map[string]string{"error": "expected a JSON object {\"city\": \"...\"}"})
		return false
	}
	if args.City == nil || strings.TrimSpace(*args.City) == "" {
		resp.WriteJSON(400, map[string]string{"error": "city is required"})
		return false
	}
	out := forecast(strings.TrimSpace(*args.City))
	if cfg.ContextKey != "" {
		if v, err := mastra.ContextGet(cfg.ContextKey); err == nil && len(v) > 0 {
			out.Tenant = v
		}
	}
	resp.WriteJSON(200, out)
	return false
}

func main() {}
