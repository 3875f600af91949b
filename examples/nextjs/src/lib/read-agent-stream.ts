// readAgentStream posts one message to this app's /api/chat/stream and reads
// mastra-server's /agent/stream events as they arrive: each event is a line
// "data: <json>" and a blank line, lines starting ":" are keep-alives, and
// "data: [DONE]" ends the stream. It resolves to the thread id, to send back
// with the next message.
export async function readAgentStream(
  message: string,
  threadId: string | undefined,
  onText: (text: string) => void,
): Promise<string | undefined> {
  const res = await fetch("/api/chat/stream", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ message, threadId }),
  });
  if (!res.ok || !res.body) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.error ?? `HTTP ${res.status}`);
  }
  const thread = res.headers.get("X-Thread-Id") || threadId;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return thread;
    buf += value;
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice("data: ".length);
      if (data === "[DONE]") return thread;
      const chunk = JSON.parse(data);
      if (chunk.type === "text-delta") onText(chunk.payload.text);
      if (chunk.type === "error") throw new Error(chunk.payload?.error?.message ?? "stream error");
    }
  }
}
