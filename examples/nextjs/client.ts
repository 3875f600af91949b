// Browser side: read the stream from /api/chat and show text as it arrives.
// Each event is one line "data: <json>" followed by a blank line; the
// stream ends with "data: [DONE]".

export async function chat(message: string, threadId: string | undefined, onText: (t: string) => void): Promise<string | null> {
  const res = await fetch("/api/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ message, threadId }),
  });
  if (!res.ok || !res.body) throw new Error((await res.json()).error ?? `HTTP ${res.status}`);
  const thread = res.headers.get("X-Thread-Id");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!event.startsWith("data: ")) continue; // ": ping" keep-alives
      const data = event.slice(6);
      if (data === "[DONE]") return thread;
      const chunk = JSON.parse(data);
      if (chunk.type === "text-delta") onText(chunk.payload.text);
      if (chunk.type === "error") throw new Error(chunk.payload.error.message);
    }
  }
  return thread;
}
