// currentUserId is the signed-in user, who becomes the resource that owns
// the conversation's thread on mastra-server. Replace it with your auth
// (NextAuth, Clerk, a session cookie…); never take it from the browser.
export async function currentUserId(_req: Request): Promise<string> {
  return "demo-user";
}
