"use client";

// The chat page: the AI SDK's useChat posting to this app's /api/chat, which
// forwards to mastra-server's POST /chat/:agentId. The reply streams in as
// the server sends it.

import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { useState, type FormEvent } from "react";

const transport = new DefaultChatTransport({ api: "/api/chat" });

export default function ChatPage() {
  const { messages, sendMessage, status, error } = useChat({ transport });
  const [input, setInput] = useState("");
  const busy = status === "submitted" || status === "streaming";

  function submit(e: FormEvent) {
    e.preventDefault();
    const text = input.trim();
    if (text === "" || busy) return;
    sendMessage({ text });
    setInput("");
  }

  return (
    <main>
      <h1>Chat</h1>
      <ol id="messages" style={{ listStyle: "none", padding: 0 }}>
        {messages.map((m) => (
          <li key={m.id} data-role={m.role} style={{ margin: "0.5rem 0" }}>
            <b>{m.role === "user" ? "You" : "Agent"}:</b>{" "}
            {m.parts.map((p, i) => (p.type === "text" ? <span key={i}>{p.text}</span> : null))}
          </li>
        ))}
      </ol>
      {error && <p role="alert">Error: {error.message}</p>}
      <form onSubmit={submit} style={{ display: "flex", gap: "0.5rem" }}>
        <input id="message" aria-label="Message" value={input} onChange={(e) => setInput(e.target.value)}
          autoFocus autoComplete="off" style={{ flex: 1 }} />
        <button type="submit" disabled={busy}>Send</button>
      </form>
      <p data-status={status} style={{ color: "gray" }}>{status}</p>
    </main>
  );
}
