package llm

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// newTestAzure completes cfg with the settings NewAzure requires (the
// configuration's defaults) and short retry waits.
func newTestAzure(t *testing.T, cfg AzureConfig) *Azure {
	t.Helper()
	cfg.Name, cfg.Timeout, cfg.MaxRetries = "azure", 2*time.Minute, testRetries
	if cfg.APIVersion == "" {
		cfg.APIVersion = "2024-10-21"
	}
	a, err := NewAzure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.c.backoff = time.Millisecond
	return a
}

// The client invents no settings: a config without them is refused,
// naming each.
func TestConfigsRequireTheirSettings(t *testing.T) {
	_, err := NewOpenAI(OpenAIConfig{APIKey: "k"})
	for _, want := range []string{"Name is required", "Timeout is required", "BaseURL is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewOpenAI without settings = %v; want %q", err, want)
		}
	}
	_, err = NewAzure(AzureConfig{Name: "azure", Timeout: time.Second, MaxRetries: -1})
	for _, want := range []string{"MaxRetries = -1", "ResourceName or Endpoint is required", "APIVersion is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewAzure without settings = %v; want %q", err, want)
		}
	}
}

func TestAzureURL(t *testing.T) {
	tests := []struct {
		name       string
		cfg        AzureConfig
		deployment string
		want       string
	}{
		{
			name: "resource name", cfg: AzureConfig{ResourceName: "contoso", APIVersion: "2024-10-21"}, deployment: "gpt-4o-mini",
			want: "https://contoso.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
		},
		{
			name: "endpoint and version", cfg: AzureConfig{Endpoint: "http://127.0.0.1:1234/", APIVersion: "2025-01-01-preview"}, deployment: "my deploy",
			want: "http://127.0.0.1:1234/openai/deployments/my%20deploy/chat/completions?api-version=2025-01-01-preview",
		},
	}
	for _, tt := range tests {
		if got := newTestAzure(t, tt.cfg).c.url(tt.deployment); got != tt.want {
			t.Errorf("%s: URL = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestAzure(t *testing.T) {
	const key = "azure-key-0123456789"
	for _, stream := range []bool{false, true} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if r.URL.Path != "/openai/deployments/my-deployment/chat/completions" {
				writeJSON(w, 404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`)
				return
			}
			if r.URL.Query().Get("api-version") != "2024-10-21" {
				writeJSON(w, 404, `{"error":{"code":"404","message":"Resource not found"}}`)
				return
			}
			if r.Header.Get("api-key") != key {
				writeJSON(w, 401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`)
				return
			}
			if stream {
				startSSE(w)
				// Azure first sends a chunk with prompt filter results and no choices.
				writeSplit(w, event(`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}`)+helloStream(), 9)
				return
			}
			writeJSON(w, 200, wholeResponse)
		})
		a := newTestAzure(t, AzureConfig{ResourceName: "ignored", Endpoint: f.srv.URL, APIKey: key})
		req := hello()
		req.Model = "my-deployment"
		var (
			got *Response
			err error
			c   collect
		)
		if stream {
			got, err = a.Stream(context.Background(), req, c.on)
		} else {
			got, err = a.Generate(context.Background(), req)
		}
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if got.Text != "Hello world" || got.Usage.TotalTokens != 11 {
			t.Errorf("stream=%v: response = %+v; want Hello world, 11 tokens", stream, got)
		}
		if stream && !reflect.DeepEqual(c.texts(), []string{"Hello", " world"}) {
			t.Errorf("deltas = %q; want %q", c.texts(), []string{"Hello", " world"})
		}
		seen := f.last()
		if _, ok := seen.Body["model"]; ok {
			t.Errorf("stream=%v: body has a model field: %s", stream, seen.RawBody)
		}
		if got := seen.Header.Get("Authorization"); got != "" {
			t.Errorf("stream=%v: Authorization = %q; want none", stream, got)
		}
	}
}

func TestAzureErrors(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 400, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`)
	})
	a := newTestAzure(t, AzureConfig{Endpoint: f.srv.URL, APIKey: "k"})
	_, err := a.Generate(context.Background(), Request{Model: "d", Messages: hello().Messages})
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T); want *StatusError", err, err)
	}
	if se.Provider != "azure" || se.StatusCode != 400 || se.Type != "content_filter" {
		t.Errorf("StatusError = %+v; want azure, 400, content_filter", se)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("upstream saw %d requests; want 1", n)
	}
}
