package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// memory.max_save_messages reaches the save-messages route: over it is a
// 400 that names it.
func TestMaxSaveMessagesTakesEffect(t *testing.T) {
	_, base := start(t, "[memory]\nmax_save_messages = 2\n")
	post := func(path, body string) (int, string) {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("/api/memory/threads?agentId=assistant", `{"threadId":"t","resourceId":"r"}`); code != 200 {
		t.Fatalf("create thread = %d %s", code, body)
	}
	msg := `{"role":"user","content":"x","threadId":"t"}`
	if code, body := post("/api/memory/save-messages?agentId=assistant", `{"messages":[`+msg+`,`+msg+`,`+msg+`]}`); code != 400 ||
		!strings.Contains(body, "at most 2 messages") {
		t.Errorf("save of 3 messages = %d %s; want 400 naming the cap of 2", code, body)
	}
	if code, body := post("/api/memory/save-messages?agentId=assistant", `{"messages":[`+msg+`,`+msg+`]}`); code != 200 {
		t.Errorf("save of 2 messages = %d %s; want 200", code, body)
	}
}
