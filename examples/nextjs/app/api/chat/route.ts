// Next.js (App Router) API route that forwards a chat message to
// mastra-server's /agent/stream and passes the Server-Sent Events through
// to the browser unchanged. The browser never sees the server's address
// or any credentials.
//
//   POST /api/chat  {"message": "…", "threadId"?: "…"}
//
// Environment: MASTRA_SERVER_URL (default http://localhost:4000) and, when
// the server's auth is on, MASTRA_API_TOKEN.

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const SERVER = process.env.MASTRA_SERVER_URL ?? "http://localhost:4000";

export async function POST(req: Request): Promise<Response> {
  let body: { message?: unknown; threadId?: unknown };
  try {
    body = await req.json();
  } catch {
    return Response.json({ error: "expected a JSON body" }, { status: 400 });
  }
  if (typeof body.message !== "string" || body.message.trim() === "") {
    return Response.json({ error: "message is required" }, { status: 400 });
  }

  // Who the user is comes from your own session, never from the browser's
  // body: it becomes the resource that owns the thread.
  const resourceId = await currentUserId(req);

  const upstream = await fetch(`${SERVER}/agent/stream`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(process.env.MASTRA_API_TOKEN ? { Authorization: `Bearer ${process.env.MASTRA_API_TOKEN}` } : {}),
    },
    body: JSON.stringify({
      message: body.message,
      threadId: typeof body.threadId === "string" ? body.threadId : undefined,
      resourceId,
    }),
    // Closing the browser tab aborts this request, and the server then
    // cancels the model call.
    signal: req.signal,
  });

  if (!upstream.ok || !upstream.body) {
    // A failure before the stream started is a JSON error with a status.
    const error = await upstream.json().catch(() => ({ error: "upstream error" }));
    return Response.json(error, { status: upstream.status });
  }

  return new Response(upstream.body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
      "X-Thread-Id": upstream.headers.get("X-Thread-Id") ?? "",
    },
  });
}

async function currentUserId(_req: Request): Promise<string> {
  // Replace with your auth (NextAuth, Clerk, a session cookie…).
  return "demo-user";
}
