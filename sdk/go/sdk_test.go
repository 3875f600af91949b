package mastra

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "acme", `a"b\c`, "line\nbreak\ttab\r", "\x00\x1f\x7f", "héllo ✓"} {
		b := AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("AppendJSONString(%q) = %s: got %q, %v", s, b, got, err)
		}
	}
}

func TestEncodeOptions(t *testing.T) {
	if got := encodeOptions(nil); got != nil {
		t.Fatalf("no options: %s", got)
	}
	got := encodeOptions([]GenerateOption{WithThreadID("t\"1"), WithResourceID("r"), WithMaxSteps(3), WithJSONOutput()})
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if m["threadId"] != "t\"1" || m["resourceId"] != "r" || m["maxSteps"] != 3.0 || m["output"] != "json" {
		t.Fatalf("unexpected %s", got)
	}
}

func TestResumeBody(t *testing.T) {
	for _, tt := range []struct {
		step, data, want string
	}{
		{"approve", `{"approved":true}`, `{"step":"approve","resumeData":{"approved":true}}`},
		{"", `{"approved":false}`, `{"resumeData":{"approved":false}}`},
		{`a"b`, "", `{"step":"a\"b","resumeData":null}`},
	} {
		got := resumeBody(tt.step, []byte(tt.data))
		if string(got) != tt.want || !json.Valid(got) {
			t.Errorf("resumeBody(%q, %q) = %s; want %s", tt.step, tt.data, got, tt.want)
		}
	}
}

func TestSplitNUL(t *testing.T) {
	got := splitNUL([]byte("a\x00bc\x00\x00"))
	if len(got) != 3 || got[0] != "a" || got[1] != "bc" || got[2] != "" {
		t.Fatalf("%q", got)
	}
	if firstNUL([]byte("x\x00y\x00")) != "x" {
		t.Fatal("firstNUL")
	}
}

func TestErrno(t *testing.T) {
	var err error = &AgentError{Errno: EIO, Message: "provider down"}
	if !errors.Is(err, EIO) || errors.Is(err, EPERM) {
		t.Fatal("errors.Is through AgentError")
	}
	if ENOENT.Error() != "ENOENT: not found" || Errno(99).Name() != "E99" {
		t.Fatal(ENOENT.Error(), Errno(99).Name())
	}
}

func TestStubs(t *testing.T) {
	// Built for the host the calls are stubs: they must not panic.
	if _, err := ContextGet("k"); !errors.Is(err, ENOSYS) {
		t.Fatal(err)
	}
	if _, err := AgentGenerate("assistant", "hi"); !errors.Is(err, ENOSYS) {
		t.Fatal(err)
	}
	var agentErr *AgentError
	if err := AgentStreamToResponse("assistant", "hi"); !errors.Is(err, ENOSYS) || !errors.As(err, &agentErr) {
		t.Fatal(err)
	}
	var dataErr *DataError
	if _, err := WorkflowStart("publish", []byte(`{"topic":"x"}`)); !errors.Is(err, ENOSYS) || !errors.As(err, &dataErr) {
		t.Fatal(err)
	}
	if err := WorkflowResume("publish", "r1", "approve", []byte(`{"approved":true}`)); !errors.Is(err, ENOSYS) {
		t.Fatal(err)
	}
	if _, err := WorkflowRun("publish", "r1"); !errors.Is(err, ENOSYS) {
		t.Fatal(err)
	}
	if _, err := ThreadsList(nil); !errors.Is(err, ENOSYS) {
		t.Fatal(err)
	}
	if _, err := ThreadMessages("t1", nil); !errors.Is(err, ENOSYS) {
		t.Fatal(err)
	}
	if v, ok := RouteParam("name"); ok || v != "" {
		t.Fatal(v)
	}
	if (Request{}).Method() != "" || len((Request{}).Body()) != 0 || handle() != 1 {
		t.Fatal("stub request")
	}
}
