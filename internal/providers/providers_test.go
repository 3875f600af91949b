package providers

import "testing"

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
		if !ok || got != p {
			t.Errorf("Lookup(%q) = %+v, %v; want the row", p.Name, got, ok)
		}
		if p.Kind == OpenAICompatible && (p.BaseURL == "" || p.APIKeyEnv == "") {
			t.Errorf("%s: an OpenAI-compatible provider needs a base URL and a key variable", p.Name)
		}
	}
	if _, ok := Lookup("bogus"); ok {
		t.Error("Lookup(bogus) found a provider")
	}
}
