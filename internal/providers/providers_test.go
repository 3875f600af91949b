package providers

import (
	"net/url"
	"reflect"
	"testing"
)

func TestParseModelRef(t *testing.T) {
	tests := []struct {
		in                      string
		wantProvider, wantModel string
		wantErr                 bool
	}{
		{in: "openai/gpt-4o-mini", wantProvider: "openai", wantModel: "gpt-4o-mini"},
		{in: "azure/my-deployment", wantProvider: "azure", wantModel: "my-deployment"},
		{in: "echo", wantProvider: "echo"},
		{in: "echo/anything", wantProvider: "echo", wantModel: "anything"},
		{in: " OpenAI/gpt-4o ", wantProvider: "openai", wantModel: "gpt-4o"},
		{in: "openrouter/meta-llama/llama-3-8b", wantProvider: "openrouter", wantModel: "meta-llama/llama-3-8b"},
		{in: "", wantErr: true},
		{in: "openai", wantErr: true},
		{in: "openai/", wantErr: true},
		{in: "/gpt-4o", wantErr: true},
	}
	for _, tt := range tests {
		p, m, err := ParseModelRef(tt.in)
		if (err != nil) != tt.wantErr || p != tt.wantProvider || m != tt.wantModel {
			t.Errorf("ParseModelRef(%q) = %q, %q, %v; want %q, %q, error %v", tt.in, p, m, err, tt.wantProvider, tt.wantModel, tt.wantErr)
		}
	}
}

func TestRegistry(t *testing.T) {
	for _, p := range All() {
		got, ok := Lookup(p.Name)
		if !ok || !reflect.DeepEqual(got, p) {
			t.Errorf("Lookup(%q) = %+v, %v; want the row", p.Name, got, ok)
		}
		if p.Kind == OpenAICompatible && (p.BaseURL == "" || p.APIKeyEnv == "") {
			t.Errorf("%s: an OpenAI-compatible provider needs a base URL and a key variable", p.Name)
		}
		if u, err := url.Parse(p.BaseURL); p.BaseURL != "" && (err != nil || u.Host == "" || (u.Scheme != "https" && !p.KeyOptional)) {
			t.Errorf("%s: base URL %q: want https for a hosted provider", p.Name, p.BaseURL)
		}
		for _, a := range p.Aliases {
			if got, ok := Lookup(a); !ok || got.Name != p.Name {
				t.Errorf("Lookup(%q) = %s, %v; want %s", a, got.Name, ok, p.Name)
			}
		}
	}
	if _, ok := Lookup("bogus"); ok {
		t.Error("Lookup(bogus) found a provider")
	}
}

// The providers the README's table promises are in the registry.
func TestRegistryHasTheCommonProviders(t *testing.T) {
	for _, name := range []string{"openai", "azure", "anthropic", "groq", "mistral", "deepseek", "xai", "openrouter", "together", "togetherai",
		"fireworks", "fireworks-ai", "cerebras", "perplexity", "google", "ollama", "lmstudio", "echo"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("Lookup(%q) found nothing", name)
		}
	}
}

func TestKindOf(t *testing.T) {
	for in, want := range map[string]Kind{"openai": OpenAICompatible, "OpenAI": OpenAICompatible, "anthropic": Anthropic, "azure": "", "": ""} {
		if got, ok := KindOf(in); got != want || ok != (want != "") {
			t.Errorf("KindOf(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
