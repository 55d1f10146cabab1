// The message of anything thrown, for logs and one-line reports: an Error's message,
// else the value as text (a library may throw a string).
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
