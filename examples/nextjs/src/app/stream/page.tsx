"use client";

// The same chat without the AI SDK: readAgentStream reads /api/chat/stream,
// the README's route, which passes mastra-server's /agent/stream through.

import { useState, type FormEvent } from "react";
import { readAgentStream } from "@/lib/read-agent-stream";

export default function StreamPage() {
  const [threadId, setThreadId] = useState<string>();
  const [reply, setReply] = useState("");
  const [error, setError] = useState("");
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const text = input.trim();
    if (text === "" || busy) return;
    setBusy(true);
    setReply("");
    setError("");
    setInput("");
    try {
      setThreadId(await readAgentStream(text, threadId, (t) => setReply((r) => r + t)));
    } catch (err) {
      setError(String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main>
      <h1>Chat (raw stream)</h1>
      <p id="reply">{reply}</p>
      {error && <p role="alert">{error}</p>}
      <form onSubmit={submit} style={{ display: "flex", gap: "0.5rem" }}>
        <input id="message" aria-label="Message" value={input} onChange={(e) => setInput(e.target.value)}
          autoFocus autoComplete="off" style={{ flex: 1 }} />
        <button type="submit" disabled={busy}>Send</button>
      </form>
    </main>
  );
}
